/* Kaiku respondent pages: progressive enhancement only. Every page works without
   this file (plain form posts, meta refresh); no inline script, so a strict
   Content-Security-Policy (script-src 'self') holds. */
(function () {
  "use strict";
  var lastPointer = 0;

  function send(form) {
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      markSending(form);
      form.submit();
    }
  }

  function markSending(form) {
    form.dataset.sent = "1";
    form.setAttribute("aria-busy", "true");
    var status = form.querySelector("[data-status]");
    if (status) status.textContent = status.getAttribute("data-sending");
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
  }

  // One answer per click: a second submit of the same form is dropped (the
  // server also makes it idempotent, this just spares the round trip).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    markSending(form);
    if (window.fetch && window.URLSearchParams && form.method.toLowerCase() === "post") {
      event.preventDefault();
      postWithRetries(form, formBody(form, event.submitter), 1);
    }
  });

  // The answer must survive a database restart or a dropped connection: the
  // form goes out with fetch, and a 502/503/504 or a network error sends the
  // same body again after Retry-After (or 1, 2, 4… s), up to MAX_TRIES. The
  // server makes repeats one answer (the form's nonce, the invitation, the
  // edit token). Any other reply is shown as a plain form post would show it.
  var MAX_TRIES = 6;
  var RETRY_STATUSES = [502, 503, 504];

  function formBody(form, submitter) {
    var body = new URLSearchParams();
    new FormData(form).forEach(function (value, name) { body.append(name, value); });
    if (submitter && submitter.name) body.append(submitter.name, submitter.value);
    return body;
  }

  function postWithRetries(form, body, attempt) {
    var retry = function (seconds, fallback) {
      if (attempt >= MAX_TRIES) return fallback();
      var wait = seconds > 0 ? Math.min(seconds, 30) : Math.pow(2, attempt - 1);
      setTimeout(function () { postWithRetries(form, body, attempt + 1); }, wait * 1000);
    };
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        if (response.redirected) {  // recorded: on to the next page (a GET)
          window.location.assign(response.url);
          return null;
        }
        if (RETRY_STATUSES.indexOf(response.status) >= 0) {
          var seconds = parseInt(response.headers.get("Retry-After"), 10) || 0;
          return retry(seconds, function () { return show(response); });
        }
        return show(response);
      })
      .catch(function () {
        // Offline or the server unreachable: keep trying, then let the
        // browser post the form itself (its error page keeps the way back).
        retry(0, function () { form.submit(); });
      });
  }

  function show(response) {
    return response.text().then(function (html) {
      document.open();
      document.write(html);
      document.close();
    });
  }

  // Back/forward cache: a restored page must be usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    var forms = document.querySelectorAll("form[data-sent]");
    for (var i = 0; i < forms.length; i++) {
      delete forms[i].dataset.sent;
      forms[i].removeAttribute("aria-busy");
      var buttons = forms[i].querySelectorAll("button[type=submit]");
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = false;
    }
  });

  // Tapping or clicking a score sends it at once. Keyboard users move through
  // the scores with the arrow keys, which also changes the selection, so for
  // them the choice is sent only with the Send button.
  document.addEventListener("pointerdown", function () { lastPointer = Date.now(); }, true);
  document.addEventListener("change", function (event) {
    var input = event.target;
    var form = input.form;
    if (!form || input.name !== "score" || !form.hasAttribute("data-submit-on-pick")) return;
    if (Date.now() - lastPointer < 1500) send(form);
  });

  // An emailed link opened with ?score=N: the page shows the score selected and
  // records it with a POST (a GET never records: mail scanners fetch links).
  var auto = document.querySelector("form[data-autosubmit]");
  if (auto && auto.querySelector("input[name=score]:checked")) send(auto);

  // Kiosk: go back to the first screen after a while without activity.
  var body = document.body;
  var resetUrl = body.getAttribute("data-reset-url");
  if (resetUrl) {
    var seconds = parseInt(body.getAttribute("data-reset-after"), 10) || 90;
    var timer = 0;
    var restart = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { window.location.replace(resetUrl); }, seconds * 1000);
    };
    ["pointerdown", "keydown", "input"].forEach(function (name) {
      document.addEventListener(name, restart, true);
    });
    restart();
  }
})();
