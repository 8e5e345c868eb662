/* The counter's camera: reads the citizen's QR with the device camera (the rear one where there is a choice), with the
   browser's own BarcodeDetector when it has one, else with the vendored polyfill (zxing-wasm, its .wasm served by this
   service), then puts the token in the "QR code" field and submits that form: the result is the same server-rendered
   page as for a typed token. Without this script the camera block stays hidden and the page works as it is. */
(function () {
  "use strict";

  var detectorPromise = null;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  async function nativeDetector() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      var formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.indexOf("qr_code") >= 0 ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    } catch (e) {
      return null;
    }
  }

  async function makeDetector(box) {
    var native = await nativeDetector();
    if (native) {
      box.dataset.decoder = "native";
      return native;
    }
    await loadScript(box.dataset.polyfill);
    var api = window.BarcodeDetectionAPI;
    var wasm = box.dataset.wasm;
    // Never the CDN the package defaults to: the WebAssembly comes from this service's static files.
    await api.prepareZXingModule({
      overrides: {
        locateFile: function (path, prefix) {
          return path.endsWith(".wasm") ? wasm : prefix + path;
        },
      },
      fireImmediately: true,
    });
    box.dataset.decoder = "polyfill";
    return new api.BarcodeDetector({ formats: ["qr_code"] });
  }

  function detector(box) {
    if (!detectorPromise) detectorPromise = makeDetector(box);
    return detectorPromise;
  }

  function setUp(root) {
    var box = root.querySelector("#scan-camera");
    if (!box || box.dataset.ready) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
    box.dataset.ready = "1";
    var form = document.getElementById("token-form");
    var field = document.getElementById("token");
    var start = box.querySelector(".camera-start");
    var stop = box.querySelector(".camera-stop");
    var video = box.querySelector("video");
    var status = box.querySelector(".camera-status");
    var stream = null;

    function say(key) {
      status.textContent = box.dataset[key] || "";
    }

    function close() {
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.hidden = true;
      stop.hidden = true;
      start.hidden = false;
    }

    async function look(reader) {
      while (stream) {
        if (video.readyState >= 2) {
          try {
            var codes = await reader.detect(video);
            var found = codes.find(function (code) { return code.rawValue; });
            if (found && stream) {
              close();
              say("msgFound");
              field.value = found.rawValue;
              form.requestSubmit();
              return;
            }
          } catch (e) {
            /* a frame the decoder could not take: try the next one */
          }
        }
        await new Promise(function (resolve) { setTimeout(resolve, 40); });
      }
    }

    start.addEventListener("click", async function () {
      say("msgStarting");
      try {
        var reading = detector(box);
        stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: { ideal: "environment" } },
          audio: false,
        });
        video.srcObject = stream;
        video.hidden = false;
        start.hidden = true;
        stop.hidden = false;
        await video.play();
        var reader = await reading;
        say("msgLooking");
        look(reader);
      } catch (e) {
        close();
        say(e && e.name === "NotAllowedError" ? "msgDenied" : "msgFailed");
      }
    });
    stop.addEventListener("click", function () {
      close();
      say("msgStopped");
    });
    window.addEventListener("pagehide", close);
    document.addEventListener("htmx:beforeRequest", close);

    box.hidden = false;
    // Fetch the decoder while the officer reads the page, so the first frame is read at once.
    detector(box).catch(function () { /* said when the camera starts */ });
  }

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  document.addEventListener("htmx:afterSettle", function () { setUp(document); });
})();
