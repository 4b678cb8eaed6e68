// Try it: assess again after each change, without reloading the page.
// The server renders the result (escaped); field messages are set as plain text.
(function () {
  "use strict";
  var form = document.getElementById("try-form");
  if (!form) { return; }
  var result = document.getElementById("try-result");
  var matrix = document.getElementById("policy-matrix");
  var timer = null;
  var sent = 0;

  function showErrors(errors, rowErrors) {
    var all = Object.assign({}, errors, {});
    Object.keys(rowErrors || {}).forEach(function (row) { all["row-" + row] = rowErrors[row]; });
    form.querySelectorAll("[data-error-for]").forEach(function (node) {
      var name = node.getAttribute("data-error-for");
      var message = all[name] || "";
      node.textContent = message;
      node.hidden = !message;
      var input = form.querySelector('[name="' + name + '"]');
      if (input) {
        if (message) { input.setAttribute("aria-invalid", "true"); }
        else { input.removeAttribute("aria-invalid"); }
      }
    });
  }

  function update() {
    var mine = ++sent;
    form.setAttribute("aria-busy", "true");
    fetch(form.getAttribute("data-result-url"), {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (reply) {
      if (mine !== sent) { return; }
      if (!reply.ok) {
        result.textContent = reply.data.message || "The workspace could not assess this input.";
      } else {
        result.innerHTML = reply.data.result_html;
        matrix.innerHTML = reply.data.matrix_html;
        result.setAttribute("data-level", reply.data.level);
        showErrors(reply.data.errors, reply.data.row_errors);
      }
      result.setAttribute("data-updates", String(mine));
      form.removeAttribute("aria-busy");
    }).catch(function () {
      if (mine === sent) {
        result.textContent = "The workspace did not answer; is `account-health serve` still running?";
        form.removeAttribute("aria-busy");
      }
    });
  }

  function soon(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, delay);
  }

  form.addEventListener("change", function () { soon(50); });
  form.addEventListener("input", function (event) {
    if (event.target.type === "text" || event.target.tagName === "TEXTAREA") { soon(600); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    soon(0);
  });
})();
