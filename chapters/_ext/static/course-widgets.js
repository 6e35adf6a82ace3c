// Alt text for the slider frames that the ipywidgets embed manager draws in the browser
// (the build gives every other image its alt text). A frame inside a numbered figure is
// described by the figure's caption, any other by the section it is in.
(function () {
  "use strict";

  function text(element) {
    if (!element) return "";
    const copy = element.cloneNode(true);
    copy.querySelectorAll(".headerlink, .caption-number").forEach((e) => e.remove());
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  function describe(img) {
    const figure = img.closest("figure");
    if (figure) {
      const caption = figure.querySelector("figcaption .caption-text, figcaption");
      const words = text(caption);
      if (words) return words;
    }
    const section = img.closest("section");
    const title = text(section && section.querySelector("h1, h2, h3, h4, h5, h6"));
    return title
      ? `Figure drawn by the slider above, in section '${title}'`
      : "Figure drawn by the slider above";
  }

  function label(root) {
    if (!(root instanceof Element) || !root.isConnected) return;
    const images = root.matches("img") ? [root] : root.querySelectorAll("img");
    images.forEach((img) => {
      if (!img.getAttribute("alt")) img.setAttribute("alt", describe(img));
    });
  }

  const observer = new MutationObserver((records) => {
    records.forEach((record) => record.addedNodes.forEach(label));
  });
  observer.observe(document.body, { childList: true, subtree: true });
  label(document.body);
})();
