// Progressive enhancement: upvote in place and copy BibTeX. Every form works without this.
"use strict";
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList || !form.classList.contains("vote") || !document.body.dataset.user) return;
  event.preventDefault();
  const button = form.querySelector("button");
  const token = form.querySelector("input[name=csrf_token]").value;
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRF-Token": token },
      credentials: "same-origin",
    });
    if (!response.ok || !(response.headers.get("content-type") || "").includes("json")) {
      form.submit();
      return;
    }
    const data = await response.json();
    button.querySelector(".count").textContent = data.upvotes;
    button.classList.toggle("voted", data.upvoted);
    button.setAttribute("aria-pressed", data.upvoted ? "true" : "false");
    button.title = data.upvoted ? "Remove your upvote" : "Upvote";
  } catch (err) {
    form.submit();
  } finally {
    button.disabled = false;
  }
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent).then(() => { button.textContent = "Copied"; });
  }
});
document.querySelectorAll("[data-copy]").forEach((b) => { if (navigator.clipboard) b.hidden = false; });
