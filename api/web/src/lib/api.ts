// The API client: every request carries the signed-in key, can be aborted,
// and fails with an ApiError that says what went wrong in words a user
// can act on (network down, a parameter with its field, a server error).
import { t } from './i18n'

export type Params = Record<string, string | number | boolean | undefined | null | (string | number)[]>

export class ApiError extends Error {
  status: number // 0: no answer (network)
  code: string
  field?: string
  retryAfter?: number
  detail?: Record<string, unknown> // the whole error answer (e.g. a refused change's golden report)
  constructor(status: number, code: string, message: string, field?: string) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
  }
  /** A sentence for the user, in the UI's language. */
  get userMessage(): string {
    if (this.status < 0) return this.message // a fault of the app itself
    if (this.status === 0) return t(this.code === 'timeout' ? 'err.timeout' : 'err.network')
    if (this.status === 401) return t('err.auth')
    if (this.status === 429) return t('err.rate', { s: this.retryAfter ?? 1 })
    if (this.status >= 500) return t('err.server', { status: this.status })
    if (this.field) return t('err.field', { field: this.field, message: this.message })
    if (this.status === 403) return t('err.forbidden', { message: this.message })
    if (this.status === 404) return t('err.notFound', { message: this.message })
    return t('err.generic', { status: this.status, message: this.message })
  }
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError'
}

let currentKey = ''
let onUnauthorized: (() => void) | null = null

export function setKey(key: string) {
  currentKey = key
}

/** Called when the signed-in key is refused (revoked while in use). */
export function onKeyRefused(fn: () => void) {
  onUnauthorized = fn
}

export function query(params?: Params): string {
  if (!params) return ''
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '' || v === false) continue
    if (Array.isArray(v)) {
      if (v.length) q.set(k, v.join(','))
    } else q.set(k, String(v))
  }
  const s = q.toString()
  return s ? '?' + s : ''
}

export interface RequestOptions {
  params?: Params
  method?: string
  body?: unknown
  contentType?: string
  signal?: AbortSignal
  key?: string // another key than the signed-in one (to check it)
  text?: boolean // the answer is text, not JSON
  timeoutMs?: number
}

export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {}
  const key = opts.key ?? currentKey
  if (key) headers.Authorization = 'Bearer ' + key
  let body: BodyInit | undefined
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string') {
      body = opts.body
      headers['Content-Type'] = opts.contentType ?? 'text/plain; charset=utf-8'
    } else {
      body = JSON.stringify(opts.body)
      headers['Content-Type'] = 'application/json'
    }
  }
  // One signal for the caller's abort and a timeout.
  const ctl = new AbortController()
  const onAbort = () => ctl.abort(opts.signal?.reason)
  if (opts.signal) {
    if (opts.signal.aborted) ctl.abort()
    else opts.signal.addEventListener('abort', onAbort, { once: true })
  }
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    ctl.abort()
  }, opts.timeoutMs ?? 60_000)
  let resp: Response
  try {
    resp = await fetch('/api/v1' + path + query(opts.params), { method: opts.method ?? 'GET', headers, body, signal: ctl.signal })
  } catch (e) {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
    if (timedOut) throw new ApiError(0, 'timeout', 'timeout')
    if (isAbort(e) || opts.signal?.aborted) throw new DOMException('aborted', 'AbortError')
    throw new ApiError(0, 'network', String(e))
  }
  try {
    if (!resp.ok) {
      let code = 'http_' + resp.status, message = resp.statusText, field: string | undefined
      let detail: Record<string, unknown> | undefined
      try {
        const j = await resp.json()
        if (j?.error) ({ code, message, field } = j.error)
        detail = j
      } catch {
        // not JSON: keep the status text
      }
      const err = new ApiError(resp.status, code, message, field)
      err.detail = detail
      const ra = resp.headers.get('Retry-After')
      if (ra) err.retryAfter = Number(ra)
      if (resp.status === 401 && !opts.key && onUnauthorized) onUnauthorized()
      throw err
    }
    if (opts.text) return (await resp.text()) as T
    return (await resp.json()) as T
  } catch (e) {
    if (e instanceof ApiError) throw e
    if (timedOut) throw new ApiError(0, 'timeout', 'timeout')
    if (isAbort(e) || opts.signal?.aborted) throw new DOMException('aborted', 'AbortError')
    throw new ApiError(0, 'network', String(e))
  } finally {
    clearTimeout(timer)
    opts.signal?.removeEventListener('abort', onAbort)
  }
}

export const get = <T>(path: string, params?: Params, signal?: AbortSignal) => request<T>(path, { params, signal })

/**
 * Downloads path as a file with the key in the header (a plain link cannot
 * carry it), reporting bytes received; abortable.
 */
export async function download(path: string, params: Params, filename: string, onProgress: (bytes: number) => void, signal?: AbortSignal): Promise<number> {
  let resp: Response
  try {
    resp = await fetch('/api/v1' + path + query(params), { headers: { Authorization: 'Bearer ' + currentKey }, signal })
  } catch (e) {
    if (isAbort(e)) throw e
    throw new ApiError(0, 'network', String(e))
  }
  if (!resp.ok || !resp.body) {
    let code = 'http_' + resp.status, message = resp.statusText, field: string | undefined
    try {
      const j = await resp.json()
      if (j?.error) ({ code, message, field } = j.error)
    } catch {
      // not JSON
    }
    throw new ApiError(resp.status, code, message, field)
  }
  const reader = resp.body.getReader()
  const chunks: BlobPart[] = []
  let n = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    n += value.length
    onProgress(n)
  }
  const url = URL.createObjectURL(new Blob(chunks, { type: resp.headers.get('Content-Type') ?? 'application/octet-stream' }))
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return n
}
