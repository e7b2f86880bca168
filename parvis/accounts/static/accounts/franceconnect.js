// The logout page follows its link to FranceConnect at once (a form's redirection to another
// site is stopped by the Content-Security-Policy's form-action; a script's navigation is not).
// Without JavaScript, the link stays there to press.
document.querySelectorAll("a[data-franceconnect-go]").forEach(function (link) {
  window.location.replace(link.href);
});
