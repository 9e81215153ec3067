/* Closeloop capture: keeps ad click IDs in a first-party cookie and fills lead forms.
 * GET /capture.js serves it with the registry of capture/params.py injected, minified.
 * ES5 on purpose: the server's minifier then shortens every local name, which the
 * 2,048-byte gzip budget needs. Every entry point is wrapped so nothing throws into the page.
 */
(function (win, doc, location) {
  if (win.closeloop) return;

  // Injected: the attribution parameter names, and {click-ID name: [platform, pattern]}.
  var NAMES = __CLOSELOOP_NAMES__.split(' '),
    CLICK_IDS = __CLOSELOOP_CLICK_IDS__,
    PARAMS = {},
    FIELDS = {landing_url: 1, referrer: 1, submission_id: 1},
    KEY = '_closeloop',
    TTL = 90 * 864e5,
    MAX_LENGTH = 500,
    script,
    base,
    consented,
    state = {c: {}};

  function safe(fn) {
    return function (arg) {
      try {
        return fn(arg);
      } catch (e) {}
    };
  }

  function decode(text) {
    try {
      return decodeURIComponent(text);
    } catch (e) {
      return text;
    }
  }

  // Returns the trimmed value when it passes the registry's rule for the named parameter.
  function accept(name, value) {
    value = (value || '').trim();
    if (!/^(null|undefined|)$/i.test(value) && value.length <= MAX_LENGTH &&
        (!CLICK_IDS[name] || new RegExp(CLICK_IDS[name][1]).test(value))) {
      return value;
    }
  }

  // Reads registry parameters from the query string and from a query in the fragment.
  // URLSearchParams turns '+' into a space; no valid click ID contains either.
  function parse() {
    var found = {},
      hash = location.hash;
    new URLSearchParams(location.search + '&' + hash.slice(hash.indexOf('?') + 1 || 1))
      .forEach(function (value, key) {
        key = PARAMS[key.toLowerCase()];
        if (key && (value = accept(key, value))) found[key] = value;
      });
    return found;
  }

  function readCookie(name) {
    var match = doc.cookie.match('(^|; )' + name + '=([^;]*)');
    return match && decode(match[2]);
  }

  // Writes on the highest domain the browser accepts (or the one the page names), which
  // is the first candidate whose cookie reads back; a deletion goes to every candidate.
  function writeCookie(value, maxAge) {
    var labels = location.hostname.split('.'),
      i = labels.length - 1,
      domain = script.dataset.cookieDomain || labels[i];
    for (; i >= -1; domain = --i < 0 ? '' : labels.slice(i).join('.')) {
      doc.cookie = KEY + '=' + encodeURIComponent(value) + ';path=/;SameSite=Lax;max-age=' + maxAge +
        (domain ? ';domain=' + domain : '') + (location.protocol == 'https:' ? ';Secure' : '');
      if (maxAge > 0 && readCookie(KEY) == value) return;
    }
  }

  function load() {
    var stored;
    try {
      stored = JSON.parse(readCookie(KEY) || localStorage.getItem(KEY));
    } catch (e) {}
    stored = stored && stored.c ? stored : state;
    for (var group in stored.c) if (stored.c[group].t < new Date() - TTL) delete stored.c[group];
    return stored;
  }

  // Stores the state until the latest click + 90 days; later visits do not extend it.
  function save() {
    var latest = 0,
      json = JSON.stringify(state);
    for (var group in state.c) latest = Math.max(latest, state.c[group].t);
    if (consented && latest) {
      writeCookie(json, (latest + TTL - new Date()) / 1e3 | 0);
      localStorage.setItem(KEY, json);
    }
  }

  // Tells the service about each click ID once; the service keeps the trusted click time.
  function register() {
    for (var group in state.c) {
      var click = state.c[group],
        body = new URLSearchParams(click.v);
      body.set('landing_url', state.l || location.href);
      if (consented && group && !click.s) {
        click.s = navigator.sendBeacon(base + '/capture/clicks', body);
      }
    }
  }

  // Records a visit: the last click per platform wins, the first touch is kept beside it.
  function capture() {
    var now = +new Date(),
      found = parse(),
      groups = {},
      msclkid = accept('msclkid', readCookie('msclkid') || (readCookie('_uetmsclkid') || '').slice(4)),
      gcl = (readCookie('_gcl_aw') || '').split('.');
    for (var name in found) {
      var group = CLICK_IDS[name] ? CLICK_IDS[name][0] : '';
      (groups[group] = groups[group] || {})[name] = found[name];
    }
    for (group in groups) {
      if (JSON.stringify((state.c[group] || {}).v) != JSON.stringify(groups[group])) {
        state.c[group] = {t: now, v: groups[group]};
        state.l = location.href.slice(0, MAX_LENGTH);
        state.r = doc.referrer.slice(0, MAX_LENGTH);
        state.f = state.f || {t: now, v: found, l: state.l, r: state.r};
      }
    }
    // Click IDs stored by Microsoft's sample snippet, UET, or Google's tag (whose
    // _gcl_aw cookie keeps the click time and lives 90 days itself).
    if (msclkid && !state.c.microsoft) state.c.microsoft = {t: now, v: {msclkid: msclkid}};
    if (accept('gclid', gcl[2]) && !state.c.google) state.c.google = {t: gcl[1] * 1e3, v: {gclid: gcl[2]}};
    register();
    save();
  }

  function values() {
    var all = {landing_url: state.l || location.href, referrer: 'r' in state ? state.r : doc.referrer};
    for (var group in state.c) {
      for (var name in state.c[group].v) all[name] = state.c[group].v[name];
    }
    return all;
  }

  function fieldName(input) {
    var name = (input.dataset.closeloop || input.name || input.id).toLowerCase();
    return FIELDS[name] ? name : PARAMS[name];
  }

  // Sets the value through the prototype's setter so that React-style inputs keep it.
  function setValue(input, value) {
    if (input.value != value) {
      Object.getOwnPropertyDescriptor(Object.getPrototypeOf(input), 'value').set.call(input, value);
      input.dispatchEvent(new Event('input', {bubbles: true}));
    }
  }

  function addHiddenInputs(form) {
    var present = {},
      all = values();
    all.submission_id = crypto.getRandomValues(new Uint32Array(4)).join('-');
    for (var i = 0; i < form.elements.length; i++) present[fieldName(form.elements[i])] = 1;
    for (var name in all) {
      if (!present[name]) {
        form.appendChild(Object.assign(doc.createElement('input'), {type: 'hidden', name: name, value: all[name]}));
      }
    }
  }

  // Fills registry inputs near root (its parent's subtree, so root itself counts, and a
  // shadow root or a frame's document works too); adds missing hidden inputs to lead forms.
  function fill(root) {
    var scope = root ? root.parentNode || root : doc,
      all = values(),
      forms = scope.querySelectorAll('form'),
      inputs = scope.querySelectorAll('input,textarea');
    for (var i = 0; i < forms.length; i++) {
      var action = new URL(forms[i].getAttribute('action') || '', location.href);
      if ('closeloop' in forms[i].dataset || action.origin == base && action.pathname == '/leads') {
        addHiddenInputs(forms[i]);
      }
    }
    for (i = 0; i < inputs.length; i++) {
      var name = fieldName(inputs[i]);
      if (name && all[name] && name != 'submission_id') setValue(inputs[i], all[name]);
    }
  }

  // A failed capture (storage blocked, say) must not keep the forms from being filled.
  var refresh = function () {
    safe(capture)();
    refill();
  };

  var refill = safe(function (event) {
    fill(event && event.target);
  });

  win.closeloop = {
    get: function () {
      var all = values();
      all.first_touch = state.f || null;
      return all;
    },
    consent: safe(function (granted) {
      consented = granted;
      if (granted) {
        capture();
      } else {
        writeCookie('', 0);
        localStorage.removeItem(KEY);
      }
    }),
    fill: safe(fill)
  };

  safe(function () {
    script = doc.currentScript;
    base = new URL(script.src).origin;
    consented = script.dataset.consent != 'required';
    NAMES.concat(Object.keys(CLICK_IDS)).forEach(function (name) {
      PARAMS[name.toLowerCase()] = name;
    });
    state = load();
    refresh();
    // Single-page apps: a route change may bring new parameters and new forms.
    ['pushState', 'replaceState'].forEach(function (method) {
      var original = history[method];
      history[method] = function () {
        try {
          return original.apply(this, arguments);
        } finally {
          refresh();
        }
      };
    });
    win.addEventListener('popstate', refresh); // fired on fragment changes too
    // Forms rendered later, and values re-applied just before a form is sent.
    new MutationObserver(refill).observe(doc, {childList: true, subtree: true});
    doc.addEventListener('submit', refill, true);
  })();
})(window, document, location);
