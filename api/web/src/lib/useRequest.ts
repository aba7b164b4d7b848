// One request's state for a component: data, loading and error. A new run
// aborts the one before, and an answer that arrives after a newer run
// started is dropped, so a slow stale answer never overwrites a newer one.
import { onBeforeUnmount, ref, shallowRef, type Ref, type ShallowRef } from 'vue'
import { ApiError, isAbort } from './api'

export interface Request<T> {
  data: ShallowRef<T | null>
  error: Ref<ApiError | null>
  loading: Ref<boolean>
  run: () => Promise<T | null>
  abort: () => void
}

export function useRequest<T>(fn: (signal: AbortSignal) => Promise<T>, opts: { keepData?: boolean } = {}): Request<T> {
  const data = shallowRef<T | null>(null) as ShallowRef<T | null>
  const error = ref<ApiError | null>(null) as Ref<ApiError | null>
  const loading = ref(false)
  let ctl: AbortController | null = null
  let seq = 0

  async function run(): Promise<T | null> {
    ctl?.abort()
    const mine = new AbortController()
    ctl = mine
    const n = ++seq
    loading.value = true
    error.value = null
    if (!opts.keepData) data.value = null
    try {
      const out = await fn(mine.signal)
      if (n !== seq) return null // a newer run has started
      data.value = out
      return out
    } catch (e) {
      if (n !== seq || isAbort(e)) return null
      error.value = e instanceof ApiError ? e : new ApiError(-1, 'client', String(e))
      return null
    } finally {
      if (n === seq) loading.value = false
    }
  }

  function abort() {
    ctl?.abort()
    seq++
    loading.value = false
  }

  onBeforeUnmount(abort)
  return { data, error, loading, run, abort }
}
