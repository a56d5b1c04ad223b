// Camera scanning for the /scan page: where the browser has the BarcodeDetector API (and
// a camera over https or localhost), read QR / Data Matrix codes and open the lot. Anywhere
// else the text field is used: scanner guns type into it and press Enter.
(function () {
  "use strict";
  var button = document.getElementById("camera");
  var video = document.getElementById("video");
  var field = document.getElementById("code");
  if (!button || !field || !("BarcodeDetector" in window) || !navigator.mediaDevices) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async function () {
    var formats = ["qr_code", "data_matrix"];
    try {
      var supported = await window.BarcodeDetector.getSupportedFormats();
      formats = formats.filter(function (f) { return supported.indexOf(f) >= 0; });
    } catch (e) { /* keep the defaults */ }
    var detector = new window.BarcodeDetector({ formats: formats });
    var stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (e) {
      button.textContent = "Camera not available: type or use a scanner";
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    button.hidden = true;
    await video.play();
    var look = async function () {
      try {
        var codes = await detector.detect(video);
        if (codes.length > 0) {
          stream.getTracks().forEach(function (t) { t.stop(); });
          field.value = codes[0].rawValue;
          field.form.submit();
          return;
        }
      } catch (e) { /* the frame was not ready; try the next one */ }
      window.requestAnimationFrame(look);
    };
    look();
  });
})();
