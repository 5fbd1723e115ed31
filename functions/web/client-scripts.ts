// The little JavaScript the web pages need, inline: following a build's log over EventSource, and
// submitting /new through the API. DOM text is set with textContent, never parsed as HTML.

export const FOLLOW_BUILD_JS = `
window.berthFollowBuild = function (id, app, root) {
  root.hidden = false;
  var log = root.querySelector('pre.log');
  var status = root.querySelector('[data-status]');
  var result = root.querySelector('.result');
  root.querySelector('[data-build-id]').textContent = id;
  function setStatus(s) { status.textContent = s; status.className = 'status ' + s; }
  function add(label, value, href) {
    var row = document.createElement('div');
    var b = document.createElement('strong'); b.textContent = label + ': ';
    row.appendChild(b);
    var v = document.createElement(href ? 'a' : 'code');
    v.textContent = value; if (href) v.href = href;
    v.setAttribute('data-' + label.toLowerCase(), '');
    row.appendChild(v); result.appendChild(row); return row;
  }
  function watchDeployment() {
    fetch('/api/v1/apps/' + encodeURIComponent(app)).then(function (r) { return r.json(); }).then(function (a) {
      var row = add('Address', a.address, a.address);
      var note = document.createElement('span'); note.className = 'hint'; note.textContent = ' (waiting for the deployment)';
      row.appendChild(note);
      var tries = 0;
      (function poll() {
        fetch('/api/v1/apps/' + encodeURIComponent(app) + '/deployments?limit=1').then(function (r) { return r.json(); }).then(function (p) {
          var d = p.items && p.items[0];
          if (d && d.status === 'active') { note.textContent = ' (live)'; return; }
          if (d && d.status === 'failed') { note.textContent = ' (deployment failed: ' + (d.error || 'see the app') + ')'; return; }
          if (++tries < 150) setTimeout(poll, 2000);
        });
      })();
    });
  }
  setStatus('queued');
  var es = new EventSource('/api/v1/builds/' + encodeURIComponent(id) + '/logs');
  es.addEventListener('log', function (e) {
    var d = JSON.parse(e.data);
    log.textContent += d.line + '\\n';
    log.scrollTop = log.scrollHeight;
    if (status.textContent === 'queued') setStatus('running');
  });
  es.addEventListener('end', function (e) {
    es.close();
    var d = JSON.parse(e.data);
    setStatus(d.status);
    if (d.imageRef) add('Image', d.imageRef);
    if (d.digest) add('Digest', d.digest);
    if (d.error) add('Error', d.error);
    if (d.status === 'succeeded' && app) watchDeployment();
  });
};
`;

export const NEW_BUILD_JS = `
(function () {
  var form = document.getElementById('new-build');
  var csrf = form.getAttribute('data-csrf');
  var err = document.getElementById('form-error');
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    err.hidden = true;
    var button = form.querySelector('button[type=submit]');
    button.disabled = true;
    function fail(message) { err.textContent = message; err.hidden = false; button.disabled = false; }
    function api(path, init) {
      init.headers = Object.assign({ 'x-csrf-token': csrf }, init.headers || {});
      return fetch(path, init).then(function (r) {
        return r.json().then(function (b) { if (!r.ok) throw new Error(b.error ? b.error.message : 'HTTP ' + r.status); return b; });
      });
    }
    var newName = form.elements.newApp.value.trim();
    var chosen = form.elements.app ? form.elements.app.value : '';
    var ready = newName
      ? api('/api/v1/apps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: newName }) }).then(function (a) { return a.name; })
      : Promise.resolve(chosen);
    ready.then(function (app) {
      if (!app) throw new Error('Choose an app, or name a new one.');
      var fd = new FormData();
      var dockerfile = form.elements.dockerfile.files[0];
      var archive = form.elements.context.files[0];
      var folder = Array.prototype.slice.call(form.elements.folder.files);
      if (archive && folder.length) throw new Error('Choose a context archive or a folder, not both.');
      if (!dockerfile && !archive && !folder.length) throw new Error('Choose a Dockerfile, a context, or both.');
      if (dockerfile) fd.append('dockerfile', dockerfile, 'Dockerfile');
      if (archive) fd.append('context', archive, archive.name);
      folder.forEach(function (f) {
        // The browser names files by the chosen folder first: the context is what is inside it.
        var path = (f.webkitRelativePath || f.name).split('/').slice(1).join('/') || f.name;
        fd.append('files', f, path);
      });
      if (form.elements.deploy.checked) fd.append('deploy', 'true');
      return api('/api/v1/apps/' + encodeURIComponent(app) + '/builds', { method: 'POST', body: fd }).then(function (b) {
        form.hidden = true;
        history.replaceState(null, '', '/builds/' + b.id);
        window.berthFollowBuild(b.id, app, document.getElementById('build'));
      });
    }).catch(function (e) { fail(e.message); });
  });
})();
`;

/** Follows the output of one or more containers (the API's SSE), newest 2000 lines kept on screen. */
export const FOLLOW_LOGS_JS = `
window.berthFollowLogs = function (sourcesJson, root) {
  var sources = JSON.parse(sourcesJson);
  var log = root.querySelector('pre.log');
  var lines = [];
  var pending = false;
  function render() {
    pending = false;
    var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    if (lines.length > 2000) lines = lines.slice(lines.length - 2000);
    log.textContent = lines.join('\\n');
    if (atEnd) log.scrollTop = log.scrollHeight;
  }
  sources.forEach(function (s) {
    var es = new EventSource('/api/v1/containers/' + encodeURIComponent(s.id) + '/logs?follow=true');
    es.addEventListener('log', function (e) {
      var d = JSON.parse(e.data);
      lines.push((sources.length > 1 ? s.name + ' | ' : '') + d.line);
      if (!pending) { pending = true; requestAnimationFrame(render); }
    });
    es.addEventListener('end', function () { es.close(); });
  });
};
`;
