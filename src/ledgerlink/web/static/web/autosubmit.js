// A <select data-autosubmit> submits its form when changed. A file, not an inline onchange handler: the
// Content-Security-Policy refuses inline handlers.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLElement && field.matches("[data-autosubmit]") && field.form) field.form.submit();
});
