// A line diff (longest common subsequence) for comparing two taxonomy
// versions' YAML side by side; the sources are a few hundred lines.
export interface DiffLine {
  op: ' ' | '+' | '-'
  text: string
  a?: number // line number in the old text
  b?: number // line number in the new text
}

export function lineDiff(oldText: string, newText: string): DiffLine[] {
  const a = oldText.split('\n'), b = newText.split('\n')
  const n = a.length, m = b.length
  const w = m + 1
  const lcs = new Uint32Array((n + 1) * w)
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1])
    }
  }
  const out: DiffLine[] = []
  let i = 0, j = 0
  while (i < n && j < m) {
    if (a[i] === b[j]) out.push({ op: ' ', text: a[i], a: ++i, b: ++j })
    else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) out.push({ op: '-', text: a[i], a: ++i })
    else out.push({ op: '+', text: b[j], b: ++j })
  }
  while (i < n) out.push({ op: '-', text: a[i], a: ++i })
  while (j < m) out.push({ op: '+', text: b[j], b: ++j })
  return out
}

/** Only the changed lines and ctx lines around them; gaps become null. */
export function hunks(lines: DiffLine[], ctx = 3): (DiffLine | null)[] {
  const keep = new Uint8Array(lines.length)
  lines.forEach((l, i) => {
    if (l.op !== ' ') for (let k = Math.max(0, i - ctx); k <= Math.min(lines.length - 1, i + ctx); k++) keep[k] = 1
  })
  const out: (DiffLine | null)[] = []
  lines.forEach((l, i) => {
    if (keep[i]) out.push(l)
    else if (out.length && out[out.length - 1] !== null) out.push(null)
  })
  if (out[out.length - 1] === null) out.pop()
  return out
}

/** Adds a touchpoint line under a scene's touchpoints in taxonomy YAML. */
export function addTouchpoint(yaml: string, scene: string, node: { id: string; name: string; rule: string }): string | null {
  const lines = yaml.split('\n')
  const start = lines.findIndex((l) => new RegExp(`^\\s*-\\s+id:\\s*['"]?${scene.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}['"]?\\s*$`).test(l))
  if (start < 0) return null
  const indent = lines[start].indexOf('-')
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i]
    if (/^\s*-\s+id:/.test(l) && l.indexOf('-') <= indent) break // the next scene
    const m = /^(\s*)touchpoints:\s*$/.exec(l)
    if (m) {
      const q = (s: string) => "'" + s.replace(/'/g, "''") + "'"
      lines.splice(i + 1, 0, `${m[1]}  - {id: ${q(node.id)}, name: ${q(node.name)}, rule: ${q(node.rule)}}`)
      return lines.join('\n')
    }
  }
  return null
}
