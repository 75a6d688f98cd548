// "Turn on notifications on this device": subscribes this browser to web push and
// registers the subscription with the app. The page works without it; texts come
// translated from the template's data attributes.
(function () {
  "use strict";
  var box = document.getElementById("push-setup");
  if (!box) {
    return;
  }
  var text = box.dataset;
  function say(message) {
    box.textContent = message;
  }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(text.unsupported);
    return;
  }
  if (Notification.permission === "denied") {
    say(text.denied);
    return;
  }
  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }
  function register(subscription) {
    var token = document.querySelector("[name=csrfmiddlewaretoken]");
    return fetch(text.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: JSON.stringify(subscription.toJSON()),
    });
  }
  // 409: this browser's subscription belongs to another account (someone else used this
  // device). The server never moves it; start a fresh subscription for this account instead.
  function subscribeAndRegister(registration, mayRenew) {
    return registration.pushManager
      .subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(text.key) })
      .then(function (subscription) {
        return register(subscription).then(function (response) {
          if (response.status === 409 && mayRenew) {
            return subscription.unsubscribe().then(function () {
              return subscribeAndRegister(registration, false);
            });
          }
          return response;
        });
      });
  }
  // A browser with no push service to reach never answers subscribe(): say so instead of
  // leaving a greyed-out button.
  function within(ms, promise) {
    return Promise.race([
      promise,
      new Promise(function (resolve, reject) {
        setTimeout(function () {
          reject(new Error("timeout"));
        }, ms);
      }),
    ]);
  }
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = text.turnOn;
  box.appendChild(button);
  button.addEventListener("click", function () {
    button.disabled = true;
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") {
          throw new Error("denied");
        }
        return within(
          20000,
          navigator.serviceWorker.ready.then(function (registration) {
            return subscribeAndRegister(registration, true);
          })
        );
      })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("server");
        }
        say(text.done);
      })
      .catch(function (error) {
        say(error && error.message === "denied" ? text.denied : text.failed);
      });
  });
})();
