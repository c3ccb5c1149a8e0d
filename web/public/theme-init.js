// Sets the theme before the first paint, so a dark-theme user never sees a light flash.
// A separate file rather than an inline script, so a strict Content-Security-Policy works.
try {
  var t = localStorage.getItem("runbox:v1:theme");
  if (t !== "light" && t !== "dark") t = matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  document.documentElement.dataset.theme = t;
} catch (e) {}
