// Arrow keys between the tabs of a tablist (WAI-ARIA tabs with automatic
// activation): Left/Right move and select, Home/End go to the ends.
export function tabKeys(e: KeyboardEvent) {
  const list = e.currentTarget as HTMLElement
  const tabs = [...list.querySelectorAll<HTMLElement>('[role=tab]')]
  const i = tabs.indexOf(document.activeElement as HTMLElement)
  if (i < 0) return
  const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key]
  if (next === undefined) return
  e.preventDefault()
  const tab = tabs[(next + tabs.length) % tabs.length]
  tab.focus()
  tab.click()
}
