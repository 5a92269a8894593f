// The draft editor opened from an investigation: the proposed rule is the last one in the
// JSON, so show the end of the text (and the cursor there) instead of the first rules.
document.addEventListener("DOMContentLoaded", () => {
  const editor = document.querySelector("textarea[data-show-end]");
  if (!editor) return;
  editor.scrollTop = editor.scrollHeight;
  editor.setSelectionRange(editor.value.length, editor.value.length);
});
