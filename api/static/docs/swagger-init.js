// Starts the Swagger UI bundle that ships with the service (no inline script: the page's
// Content-Security-Policy allows scripts from this origin only). The OpenAPI document's URL
// comes from the page's data-openapi-url attribute.
(function () {
  "use strict";
  window.addEventListener("load", function () {
    var root = document.getElementById("swagger-ui");
    window.ui = window.SwaggerUIBundle({
      url: root.getAttribute("data-openapi-url"),
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
      layout: "BaseLayout",
      showExtensions: true,
      showCommonExtensions: true,
      // Never send the document to the public validator (validator.swagger.io).
      validatorUrl: null,
    });
  });
})();
