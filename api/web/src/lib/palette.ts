// Chart colours: a palette that stays apart for common colour-vision
// deficiencies (after Okabe–Ito and Tableau 10), stable per scene so a
// scene keeps its colour across charts. Series also carry their names in
// legends and tooltips: colour is never the only key.
import { session } from './session'

export const palette = ['#1f5fbf', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#8c6d31', '#7f7f7f', '#0072b2', '#bcbd22', '#6b4c9a', '#17becf', '#b5446e', '#4e8f3a', '#a0522d', '#2f4b7c', '#ff7c43']

export function sceneColor(id: string): string {
  const scenes = session.taxonomy?.scenes ?? []
  const i = scenes.findIndex((s) => s.id === id)
  return palette[(i >= 0 ? i : scenes.length) % palette.length]
}

/** A colour from pale to dark red for a negative rate in [0, 1]. */
export function negColor(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return '#c9ced8'
  const r = Math.max(0, Math.min(1, rate))
  const from = [253, 236, 234], to = [140, 24, 14]
  const c = from.map((f, i) => Math.round(f + (to[i] - f) * r))
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`
}
