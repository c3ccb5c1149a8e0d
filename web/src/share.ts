// Sharing: the Share button saves the files as a snippet (POST /api/v1/snippets) and shows its
// link in a dialog with a Copy button.
import { createSnippet, type Snippet } from "./api";
import { $, hideBanner, showBanner } from "./page";

export interface ShareEvents {
  /** What to share, or undefined while there is nothing (no language yet). */
  snippet: () => Snippet | undefined;
  /** The snippet exists: the page now shows it unchanged, at `url`. */
  onShared: (url: URL) => void;
}

export function setupShare(events: ShareEvents) {
  $("#share-btn").addEventListener("click", () => void share(events));
  $("#share-copy").addEventListener("click", async () => {
    const input = $<HTMLInputElement>("#share-url");
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
      $("#share-copy").textContent = "Copied";
    } catch {
      document.execCommand?.("copy");
      $("#share-copy").textContent = "Copied";
    }
    setTimeout(() => ($("#share-copy").textContent = "Copy"), 1500);
  });
}

async function share(events: ShareEvents) {
  const snippet = events.snippet();
  if (!snippet) return;
  const btn = $<HTMLButtonElement>("#share-btn");
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  try {
    const { id } = await createSnippet(snippet);
    const u = new URL(location.href);
    u.search = `?s=${encodeURIComponent(id)}`;
    u.hash = "";
    history.replaceState(null, "", u.pathname + u.search);
    events.onShared(u);
    const input = $<HTMLInputElement>("#share-url");
    input.value = u.toString();
    $<HTMLAnchorElement>("#share-open").href = u.toString();
    const dlg = $<HTMLDialogElement>("#share-dialog");
    dlg.showModal();
    input.select();
  } catch (e) {
    showBanner(`Could not create a share link. ${(e as Error).message}`);
    setTimeout(hideBanner, 8000);
  } finally {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
  }
}
