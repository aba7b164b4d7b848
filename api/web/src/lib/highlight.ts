// Turning the API's highlights into text segments the templates render as
// text (never as HTML): search snippets (HTML-escaped text with <mark>
// around matches), and evidence spans (code-point offsets into the text).

export interface Segment {
  text: string
  mark: boolean
  keys: string[] // the spans covering this segment (evidence highlighting)
}

const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#34;': '"', '&#39;': "'" }

export function unescapeHTML(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#34|#39);/g, (m) => entities[m] ?? m)
}

/** A snippet's segments: the text between <mark> and </mark> is marked. */
export function snippetSegments(snippet: string): Segment[] {
  const out: Segment[] = []
  let mark = false
  for (const part of snippet.split(/(<mark>|<\/mark>)/)) {
    if (part === '<mark>') mark = true
    else if (part === '</mark>') mark = false
    else if (part) out.push({ text: unescapeHTML(part), mark, keys: [] })
  }
  return out
}

/** The distinct marked words of snippets, longest first. */
export function markedTerms(snippets: string[] | undefined): string[] {
  const terms = new Set<string>()
  for (const s of snippets ?? []) for (const seg of snippetSegments(s)) if (seg.mark && seg.text.trim()) terms.add(seg.text)
  return [...terms].sort((a, b) => b.length - a.length)
}

/** text with every occurrence of terms marked (for transcript turns). */
export function termSegments(text: string, terms: string[]): Segment[] {
  if (!terms.length) return [{ text, mark: false, keys: [] }]
  const esc = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  const re = new RegExp(esc.join('|'), 'g')
  const out: Segment[] = []
  let last = 0
  for (const m of text.matchAll(re)) {
    if (m.index! > last) out.push({ text: text.slice(last, m.index), mark: false, keys: [] })
    out.push({ text: m[0], mark: true, keys: [] })
    last = m.index! + m[0].length
  }
  if (last < text.length) out.push({ text: text.slice(last), mark: false, keys: [] })
  return out
}

export interface Span {
  start: number // code points
  end: number
  key: string
}

/**
 * text cut at every span boundary; each segment lists the spans covering
 * it. Offsets count code points (as the analysis does), not UTF-16 units,
 * so a character outside the BMP before a span does not shift it.
 */
export function spanSegments(text: string, spans: Span[]): Segment[] {
  const chars = Array.from(text)
  const cuts = new Set<number>([0, chars.length])
  const valid = spans.filter((s) => s.start >= 0 && s.end <= chars.length && s.start < s.end)
  for (const s of valid) cuts.add(s.start).add(s.end)
  const points = [...cuts].sort((a, b) => a - b)
  const out: Segment[] = []
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i], b = points[i + 1]
    const keys = valid.filter((s) => s.start <= a && s.end >= b).map((s) => s.key)
    out.push({ text: chars.slice(a, b).join(''), mark: keys.length > 0, keys })
  }
  return out
}
