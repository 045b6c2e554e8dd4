/*! Kaiku web widget v1 — https://kaiku.example/widget/v1/kaiku.js, see docs/widget.md.
 * Shows a small non-blocking survey card. Sets no cookies: dismissals and answers are
 * remembered in this site's localStorage under "kaiku:<survey>:<user_id>". */
(function () {
  "use strict";
  if (window.Kaiku && window.Kaiku.version) return; // the snippet was pasted twice

  var script =
    document.currentScript || document.querySelector("script[data-survey][src*='kaiku.js']");
  var surveyId = script && script.getAttribute("data-survey");
  if (!surveyId) {
    console.warn("Kaiku: the <script> tag needs data-survey=\"PUBLIC_ID\"");
    return;
  }
  // The API lives next to the script, so Kaiku may be hosted under a sub-path.
  var base =
    script.src.replace(/kaiku\.js([?#].*)?$/, "") + "surveys/" + encodeURIComponent(surveyId) + "/";
  var DAY = 864e5;
  var cfg = null; // the eligibility response, once fetched
  var pending = null; // its promise
  var ui = null; // {host, card, body, error} while the card is shown
  var answer = null; // {score, token} once the score is recorded
  var lastFocus = null;
  var thanksTimer = 0;

  // Read on every use: a single-page app may set KaikuSettings after login.
  function settings() {
    return window.KaikuSettings || {};
  }
  function userId() {
    var id = settings().user_id;
    return id === undefined || id === null || id === "" ? "" : String(id);
  }
  function language() {
    var s = settings().language || document.documentElement.lang || navigator.language || "";
    return String(s).slice(0, 2).toLowerCase();
  }
  function emit(name, detail) {
    window.dispatchEvent(new CustomEvent("kaiku:" + name, { detail: detail || {} }));
  }

  // --- Memory (localStorage may be missing or full: then we simply forget) ---------
  function key() {
    return "kaiku:" + surveyId + ":" + userId();
  }
  function recall() {
    try {
      var v = JSON.parse(localStorage.getItem(key()) || "{}");
      return v && v.until > Date.now() ? v.why : "";
    } catch (e) {
      return "";
    }
  }
  function remember(why, days) {
    try {
      localStorage.setItem(key(), JSON.stringify({ why: why, until: Date.now() + days * DAY }));
    } catch (e) {
      /* private mode or storage blocked */
    }
  }

  // --- Server -------------------------------------------------------------------------
  function call(path, init) {
    init = Object.assign(
      // No cookies either way, and the host page's URL is none of our business.
      { credentials: "omit", referrerPolicy: "no-referrer", cache: "no-store" },
      init
    );
    return fetch(base + path, init).then(function (r) {
      return r
        .json()
        .catch(function () {
          return {};
        })
        .then(function (body) {
          if (r.ok) return body;
          var err = (body && body.error) || {};
          var e = new Error("Kaiku: " + r.status + " " + (err.message || ""));
          e.status = r.status;
          e.code = err.code;
          e.field = err.field;
          throw e;
        });
    });
  }

  function identity(body) {
    var s = settings();
    if (userId()) {
      body.user_id = userId();
      body.user_hash = s.user_hash ? String(s.user_hash) : "";
    }
    return body;
  }

  function fetchConfig() {
    if (!pending) {
      var q = "eligibility?lang=" + encodeURIComponent(language());
      var who = identity({});
      for (var k in who) q += "&" + k + "=" + encodeURIComponent(who[k]);
      pending = call(q).then(
        function (c) {
          if (userId() && !c.identified) {
            console.warn("Kaiku: user_hash does not match user_id; answers will be anonymous");
          }
          if (!c.eligible) {
            skip(c.reason);
            return null;
          }
          cfg = c;
          return c;
        },
        function (e) {
          console.warn(e.message);
          pending = null; // a later Kaiku.show() may try again
          skip("error");
          return null;
        }
      );
    }
    return pending;
  }

  function skip(reason) {
    emit("skip", { reason: reason });
  }

  function send(body) {
    body = identity(Object.assign({ language: cfg.language }, body));
    var props = settings().properties;
    if (props && !answer) body.properties = props;
    var post = function (b) {
      return call("responses", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(b),
      });
    };
    return post(body).catch(function (e) {
      // A mistake in KaikuSettings.properties must not lose the respondent's answer.
      if (e.status !== 400 || e.field !== "properties") throw e;
      console.warn(e.message);
      delete body.properties;
      return post(body);
    });
  }

  // --- Card ------------------------------------------------------------------------------
  var CSS =
    ":host{all:initial}" +
    "*{box-sizing:border-box;margin:0;font:inherit;color:inherit}" +
    ".card{position:fixed;z-index:2147483000;right:20px;bottom:20px;width:420px;" +
    "max-width:calc(100vw - 40px);background:#fff;color:#1b1d21;" +
    "font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;" +
    "border-radius:10px;padding:22px 20px 16px;overflow:hidden;" +
    "box-shadow:0 10px 32px rgba(0,0,0,.2),0 0 0 1px rgba(0,0,0,.08);animation:k-in .2s ease-out}" +
    // A straight brand strip, clipped by the rounded corners (a border-top would taper).
    ".card:before{content:'';position:absolute;top:0;left:0;right:0;height:5px;background:var(--kb)}" +
    "@keyframes k-in{from{transform:translateY(16px);opacity:0}}" +
    ".q{display:block;font-weight:600;margin:0 30px 12px 0}" +
    ".scale{display:grid;grid-template-columns:repeat(var(--n),minmax(0,1fr));gap:4px}" +
    "button{cursor:pointer;border-radius:6px;font-weight:600}" +
    ".s{height:40px;padding:0;border:1px solid #b9bdc6;background:#f4f5f7;color:#1b1d21}" +
    ".s:hover,.s.on{background:var(--kb);border-color:var(--kb);color:var(--kt)}" +
    "button:disabled{cursor:default;opacity:.6}" +
    "button:focus-visible,textarea:focus-visible{outline:2px solid #1b1d21;outline-offset:2px}" +
    ".ends{display:flex;justify-content:space-between;gap:12px;margin-top:6px;font-size:12px;" +
    "color:#555a63}" +
    ".ends span:last-child{text-align:right}" +
    "textarea{display:block;width:100%;min-height:84px;resize:vertical;padding:8px 10px;" +
    "border:1px solid #80858f;border-radius:6px;background:#fff;font-size:15px}" +
    ".row{display:flex;justify-content:flex-end;margin-top:10px}" +
    ".send{border:1px solid var(--kb);background:var(--kb);color:var(--kt);padding:8px 20px}" +
    ".x{position:absolute;top:10px;right:8px;width:32px;height:32px;border:0;background:none;" +
    "color:#555a63;font-size:22px;line-height:1}" +
    ".x:hover{background:#eef0f3}" +
    ".err{margin-top:10px;font-size:13px;color:#b3261e}.err:empty{display:none}" +
    ".thanks{margin:2px 30px 2px 0;font-weight:600}.thanks:focus{outline:none}" +
    "@media (max-width:480px){.card{left:0;right:0;bottom:0;width:auto;max-width:none;" +
    "border-radius:14px 14px 0 0;padding:16px 14px calc(14px + env(safe-area-inset-bottom))}" +
    ".scale{gap:3px}.s{height:44px}}" +
    "@media (prefers-reduced-motion:reduce){.card{animation:none}}" +
    "@media print{.card{display:none}}";

  // el("button", {class: "s", onclick: f}, "text"): text is always set as text, never HTML.
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) {
      var value = attrs[name];
      if (typeof value === "function") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function open(focus) {
    if (ui || !cfg || answer) return;
    var s = cfg.survey;
    lastFocus = document.activeElement;
    // Styles go through the CSSOM (a constructed sheet, style.setProperty): a host
    // page's Content-Security-Policy governs <style> and style="", not these.
    var host = el("kaiku-widget");
    host.style.setProperty("all", "initial");
    var root = host.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el("style", {}, CSS));
    }
    var card = el("div", {
      class: "card",
      role: "dialog",
      "aria-modal": "false",
      "aria-label": s.ui.dialog,
      lang: cfg.language,
    });
    card.style.setProperty("--kb", s.brand_color);
    card.style.setProperty("--kt", s.text_color);
    card.addEventListener("keydown", function (e) {
      if (e.key === "Escape") {
        e.stopPropagation();
        close(true);
      }
    });
    card.appendChild(
      el("button", { class: "x", type: "button", "aria-label": s.ui.close, onclick: function () {
        close(true);
      } }, "\u00d7")
    );
    var body = el("div");
    var error = el("p", { class: "err", role: "status", "aria-live": "polite" });
    card.appendChild(body);
    card.appendChild(error);
    root.appendChild(card);
    document.body.appendChild(host);
    ui = { host: host, card: card, body: body, error: error };
    renderScale();
    if (focus) ui.body.querySelector("button").focus();
    emit("show");
  }

  function renderScale() {
    var s = cfg.survey;
    var q = el("p", { class: "q", id: "kaiku-q" }, s.question);
    var scale = el("div", { class: "scale", role: "group", "aria-labelledby": "kaiku-q" });
    scale.style.setProperty("--n", s.scale_max - s.scale_min + 1);
    for (var n = s.scale_min; n <= s.scale_max; n++) {
      scale.appendChild(
        el("button", {
          class: "s",
          type: "button",
          "aria-label": s.score_labels[n - s.scale_min],
          onclick: choose.bind(null, n),
        }, String(n))
      );
    }
    var ends = el("div", { class: "ends", "aria-hidden": "true" });
    ends.appendChild(el("span", {}, s.labels.low));
    ends.appendChild(el("span", {}, s.labels.high));
    ui.body.replaceChildren(q, scale, ends);
  }

  function busy(on) {
    ui.body.querySelectorAll("button,textarea").forEach(function (b) {
      b.disabled = on;
    });
    if (on) ui.error.textContent = "";
  }

  function failed(e) {
    console.warn(e.message);
    if (!ui) return;
    busy(false);
    ui.error.textContent = cfg.survey.ui.error;
  }

  function choose(score, ev) {
    ev.currentTarget.classList.add("on"); // shown as chosen while it is being sent
    busy(true);
    send({ score: score }).then(
      function (r) {
        answered(score, r.edit_token);
        renderComment();
      },
      function (e) {
        // Answered already (another tab, another device): nothing more to ask.
        if (e.status !== 409 || e.code !== "already_answered") return failed(e);
        answered(score, null);
        thank();
      }
    );
  }

  function answered(score, token) {
    answer = { score: score, token: token };
    remember("answered", cfg.recontact_days);
    emit("answer", { score: score });
  }

  function renderComment() {
    if (!ui) return;
    var s = cfg.survey;
    var label = el("label", { class: "q", for: "kaiku-c" }, s.follow_up[answer.score - s.scale_min]);
    var text = el("textarea", { id: "kaiku-c", maxlength: "5000", rows: "3" });
    var row = el("div", { class: "row" });
    row.appendChild(el("button", { class: "send", type: "button", onclick: comment }, s.ui.send));
    ui.body.replaceChildren(label, text, row);
    text.focus();
  }

  function comment() {
    var text = ui.body.querySelector("textarea").value.trim();
    if (!text || !answer.token) return thank();
    busy(true);
    send({ score: answer.score, comment: text, edit_token: answer.token }).then(function () {
      emit("comment");
      thank();
    }, failed);
  }

  function thank() {
    if (!ui) return;
    var p = el("p", { class: "thanks", tabindex: "-1" }, cfg.survey.thank_you);
    ui.body.replaceChildren(p);
    ui.error.textContent = "";
    p.focus();
    thanksTimer = setTimeout(function () {
      close(false);
    }, 6000);
  }

  function close(dismissed) {
    if (!ui) return;
    clearTimeout(thanksTimer);
    var hadFocus = ui.host.contains(document.activeElement) || document.activeElement === ui.host;
    ui.host.remove();
    ui = null;
    if (dismissed && !answer) {
      remember("dismissed", cfg.dismiss_days);
      emit("dismiss");
    }
    if (hadFocus && lastFocus && lastFocus.focus) lastFocus.focus();
  }

  // --- Public API --------------------------------------------------------------------
  window.Kaiku = {
    version: "1",
    // Shows the card now (e.g. from a "Give feedback" link), even if it was dismissed
    // before; the server's throttling rules still apply. Resolves to true if shown.
    show: function () {
      return fetchConfig().then(function (c) {
        if (c && !answer) open(true);
        return !!ui;
      });
    },
    // Hides the card; before an answer this counts as a dismissal.
    hide: function () {
      close(true);
    },
  };

  function start() {
    emit("ready");
    if (settings().autoShow === false) return;
    var why = recall();
    if (why) return skip(why);
    var due = Date.now() + Math.max(0, Number(settings().delay) || 0) * 1000;
    fetchConfig().then(function (c) {
      if (c) {
        setTimeout(function () {
          if (!recall()) open(false);
        }, due - Date.now());
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
