"""Stock by location (``stock``), purchase orders (``orders``), demand forecasts
(``forecast``), replenishment suggestions (``replenishment``) and reports (``reports``)."""
