"""Stock, orders, replenishment, forecasts, reports."""
