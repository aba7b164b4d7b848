// Short confirmations ("已确认") read out by screen readers too.
import { reactive } from 'vue'

export const toasts = reactive<{ id: number; text: string; kind: 'ok' | 'error' | 'info' }[]>([])
let next = 1

export function toast(text: string, kind: 'ok' | 'error' | 'info' = 'ok') {
  const id = next++
  toasts.push({ id, text, kind })
  setTimeout(() => {
    const i = toasts.findIndex((t) => t.id === id)
    if (i >= 0) toasts.splice(i, 1)
  }, 4000)
}
