/* Closeloop capture: keeps ad click IDs in a first-party cookie and fills lead forms.
 * GET /capture.js serves it with the registry of capture/params.py injected, minified.
 * ES5 on purpose: the server's minifier then shortens every local name, which the
 * 2,048-byte gzip budget needs. Every entry point is wrapped so nothing throws into the page.
 */
(function (doc, location) {
  if (window.closeloop) return;

  // Injected: every parameter name, and {click-ID name: [platform, pattern]}.
  // NAMES[KEYS.indexOf(lower-case name)] is a name as the registry spells it.
  var NAMES = __CLOSELOOP_NAMES__.split(' '),
    CLICK_IDS = __CLOSELOOP_CLICK_IDS__,
    KEYS = NAMES.join(' ').toLowerCase().split(' '),
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

  // A missing or malformed cookie reads as ''.
  function readCookie(name) {
    try {
      return decodeURIComponent(doc.cookie.match('(^|; )' + name + '=([^;]*)')[2]);
    } catch (e) {
      return '';
    }
  }

  // Writes on the highest domain the browser accepts (or the one the page names): the first
  // candidate after which the cookie reads back as written, which for a deletion is ''.
  function writeCookie(value, maxAge) {
    var labels = location.hostname.split('.'),
      i = labels.length - 1,
      domain = script.dataset.cookieDomain || labels[i];
    for (; i >= -1; domain = --i < 0 ? '' : labels.slice(i).join('.')) {
      // An empty domain attribute is ignored: the cookie is then the host's own.
      doc.cookie = KEY + '=' + encodeURIComponent(value) + ';path=/;SameSite=Lax;max-age=' + maxAge +
        ';domain=' + domain + (location.protocol == 'https:' ? ';Secure' : '');
      if (readCookie(KEY) == value) return;
    }
  }

  // Returns the trimmed value when it passes the registry's rule for the named parameter
  // (an attribution parameter has none but the length).
  function accept(name, value) {
    value = (value || '').trim();
    if (!/^(null|undefined|)$/i.test(value) && value.length <= MAX_LENGTH &&
        (CLICK_IDS[name] || [0, /^/])[1].test(value)) return value;
  }

  // Records a visit: the last click per platform wins, the first touch is kept beside it.
  // Then stores the state until the latest click + 90 days (later visits do not extend it)
  // and tells the service about each click ID once; the service keeps the trusted click time.
  function capture() {
    var now = Date.now(),
      hash = location.hash,
      found = {},
      groups = {},
      latest = 0,
      msclkid = accept('msclkid', readCookie('msclkid') || readCookie('_uetmsclkid').slice(4)),
      gcl = readCookie('_gcl_aw').split('.'),
      group;
    for (group in state.c) if (state.c[group].t < now - TTL) delete state.c[group];
    // Query string and a query in the fragment. URLSearchParams turns '+' into a space;
    // no valid click ID contains either.
    new URLSearchParams(location.search + '&' + hash.slice(hash.indexOf('?') + 1 || 1))
      .forEach(function (value, name) {
        name = NAMES[KEYS.indexOf(name.toLowerCase())];
        if (name && (value = accept(name, value))) {
          group = (CLICK_IDS[name] || '')[0] || ''; // a platform, or '' for attribution
          (groups[group] = groups[group] || {})[name] = found[name] = value;
        }
      });
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
    for (group in state.c) {
      var click = state.c[group];
      if (click.t > latest) latest = click.t;
      if (consented && group && !click.s) {
        click.s = navigator.sendBeacon(base + '/capture/clicks',
          new URLSearchParams(Object.assign({landing_url: state.l || location.href}, click.v)));
      }
    }
    if (consented && latest) {
      writeCookie(JSON.stringify(state), (latest + TTL - now) / 1e3 | 0);
      localStorage[KEY] = JSON.stringify(state);
    }
  }

  function values() {
    var all = {landing_url: state.l || location.href, referrer: 'r' in state ? state.r : doc.referrer};
    for (var group in state.c) Object.assign(all, state.c[group].v);
    return all;
  }

  // Returns the registry's spelling of the parameter an input is for, or its name in lower case.
  function fieldName(input) {
    var name = (input.dataset.closeloop || input.name || input.id).toLowerCase();
    return NAMES[KEYS.indexOf(name)] || name;
  }

  // Fills registry inputs near root (its parent's subtree, so root itself counts, and a
  // shadow root or a frame's document works too); adds missing hidden inputs to lead forms.
  function fill(root) {
    var all = values();
    [].forEach.call((root ? root.parentNode || root : doc).querySelectorAll('form,input,textarea'),
      function (element) {
        var action, missing, value;
        if (element.elements) {
          action = new URL(element.getAttribute('action') || '', location.href);
          if ('closeloop' in element.dataset || action.origin == base && action.pathname == '/leads') {
            missing = Object.assign({submission_id: crypto.getRandomValues(new Uint32Array(4)).join('-')},
              all);
            [].forEach.call(element.elements, function (input) {
              delete missing[fieldName(input)];
            });
            for (var name in missing) {
              element.append(Object.assign(doc.createElement('input'),
                {type: 'hidden', name: name, value: missing[name]}));
            }
          }
        } else if (all.hasOwnProperty(value = fieldName(element)) && (value = all[value]) &&
          element.value != value) {
          // Sets the value through the prototype's setter so that React-style inputs keep it.
          Object.getOwnPropertyDescriptor(Object.getPrototypeOf(element), 'value').set.call(element, value);
          element.dispatchEvent(new Event('input', {bubbles: true}));
        }
      });
  }

  // A failed capture (storage blocked, say) must not keep the forms from being filled.
  function refresh() {
    safe(capture)();
    refill();
  }

  var refill = safe(function (event) {
    fill(event && event.target);
  });

  window.closeloop = {
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
        delete localStorage[KEY];
      }
    }),
    fill: safe(fill)
  };

  safe(function () {
    script = doc.currentScript;
    base = new URL(script.src).origin;
    consented = script.dataset.consent != 'required';
    try {
      var stored = JSON.parse(readCookie(KEY) || localStorage[KEY]);
      if (stored.c) state = stored;
    } catch (e) {}
    refresh();
    // Single-page apps: a route change may bring new parameters and new forms.
    ['pushState', 'replaceState'].forEach(function (method) {
      var original = history[method];
      history[method] = function () {
        original.apply(this, arguments);
        refresh();
      };
    });
    window.addEventListener('popstate', refresh); // fired on fragment changes too
    // Forms rendered later, and values re-applied just before a form is sent.
    new MutationObserver(refill).observe(doc, {childList: true, subtree: true});
    doc.addEventListener('submit', refill, true);
  })();
})(document, location);
