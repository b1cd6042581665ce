// A question before an action that is easy to regret (cancel every order, a price far from the
// market): a modal <dialog> (focus kept inside, Escape answers no). Resolves true or false.

let dialog = null;

function build() {
  dialog = document.createElement("dialog");
  dialog.className = "confirm";
  dialog.setAttribute("aria-labelledby", "confirm-title");
  dialog.setAttribute("aria-describedby", "confirm-text");
  dialog.innerHTML = '<h2 id="confirm-title"></h2><p id="confirm-text"></p>'
    + '<div class="confirm-actions"><button type="button" class="secondary" data-answer="no"></button>'
    + '<button type="button" data-answer="yes"></button></div>';
  document.body.append(dialog);
  return dialog;
}

export function confirmAction({ title, text, yes = "Confirm", no = "Go back", danger = false }) {
  const box = dialog || build();
  box.querySelector("#confirm-title").textContent = title;
  box.querySelector("#confirm-text").textContent = text;
  const yesButton = box.querySelector('[data-answer="yes"]');
  const noButton = box.querySelector('[data-answer="no"]');
  yesButton.textContent = yes;
  yesButton.className = danger ? "danger" : "";
  noButton.textContent = no;
  return new Promise((resolve) => {
    const answer = (value) => () => {
      yesButton.onclick = noButton.onclick = box.oncancel = null;
      box.close();
      resolve(value);
    };
    yesButton.onclick = answer(true);
    noButton.onclick = answer(false);
    box.oncancel = answer(false);
    box.showModal();
    noButton.focus();
  });
}
