/** Finding controls in the document as a browser test would: by their accessible names. */

/** What a browser's getByLabel does: the <label> with that text, then the element its `for` names. */
export function controlByLabel(text: string): HTMLInputElement {
  const label = Array.from(document.querySelectorAll('label')).find(
    (l) => l.textContent?.trim() === text,
  )
  if (!label) throw new Error(`no label "${text}"`)
  const id = label.getAttribute('for')
  if (!id) throw new Error(`label "${text}" has no for=`)
  const control = document.getElementById(id)
  if (!control) throw new Error(`label "${text}" points at missing #${id}`)
  return control as HTMLInputElement
}
