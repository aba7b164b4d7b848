// The signed-in key and what the app knows about its world: the key's
// role and scope (/me), the taxonomy's names and the org tree of the
// scope. A key is checked against /me before it is kept; a wrong key never
// replaces a good one.
import { computed, reactive } from 'vue'
import { ApiError, onKeyRefused, request, setKey } from './api'
import type { Me, OrgNode, TaxNode, TaxonomyTree } from './types'

const storageKey = 'dongting.key'

export interface NodeInfo {
  id: string
  name: string
  path: string[] // names from the scene down
  parent?: string
  scene: string
  rule?: string
  depth: number
  dimension: boolean
  children: string[]
}

export const session = reactive({
  key: '',
  me: null as Me | null,
  expired: false, // the kept key stopped working while in use
  taxonomy: null as TaxonomyTree | null,
  nodes: new Map<string, NodeInfo>(),
  orgRoots: [] as OrgNode[],
  orgRecords: 0,
  orgs: [] as OrgNode[], // flat, in tree order
  loadError: null as ApiError | null,
  // Red-line and severity rule names (电梯困人) by id, learnt from the
  // analyses the app has read: alerts name their red lines by id.
  signalNames: {} as Record<string, string>,
})

export function learnSignals(signals: { id: string; name: string }[] | null | undefined) {
  for (const sg of signals ?? []) if (sg.name && !session.signalNames[sg.id]) session.signalNames[sg.id] = sg.name
}

export const signedIn = computed(() => !!session.me)

/** Settles once the kept key has been checked at start. */
export let ready: Promise<void> = Promise.resolve()
export function setReady(p: Promise<void>) {
  ready = p.catch(() => {})
}

onKeyRefused(() => {
  if (session.me) {
    session.expired = true
    forget()
  }
})

function forget() {
  localStorage.removeItem(storageKey)
  session.key = ''
  session.me = null
  setKey('')
}

/** Checks key and keeps it only if the service takes it. */
export async function signIn(key: string): Promise<void> {
  key = key.trim()
  const me = await request<Me>('/me', { key }) // throws on a wrong key: nothing changes
  localStorage.setItem(storageKey, key)
  session.key = key
  session.me = me
  session.expired = false
  setKey(key)
  await loadWorld()
}

export function signOut() {
  forget()
  session.expired = false
}

/** At start: the kept key, checked again. A network failure keeps it. */
export async function restore(): Promise<void> {
  const key = localStorage.getItem(storageKey)
  if (!key) return
  setKey(key)
  session.key = key
  try {
    // The key, the taxonomy and the org tree at once: a reload is one
    // round trip, not three.
    const world = loadWorld(true)
    world.catch(() => {}) // a refused key fails this too; /me says why
    session.me = await request<Me>('/me')
    await world
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      session.expired = true
      forget()
    } else {
      session.loadError = e instanceof ApiError ? e : new ApiError(0, 'network', String(e))
    }
  }
}

export async function loadWorld(early = false) {
  session.loadError = null
  // An ingest key may not read the org tree: it simply has none.
  const noOrgs = { orgs: [] as OrgNode[], records: 0 }
  const [tax, orgs] = await Promise.all([
    request<TaxonomyTree>('/taxonomy'),
    early || session.me?.may.read
      ? request<{ orgs: OrgNode[]; records: number }>('/orgs').catch((e) => {
          if (e instanceof ApiError && e.status === 403) return noOrgs
          throw e
        })
      : Promise.resolve(noOrgs),
  ])
  setTaxonomy(tax)
  session.orgRoots = orgs.orgs
  session.orgRecords = orgs.records
  const flat: OrgNode[] = []
  const walk = (ns: OrgNode[]) => ns.forEach((n) => (flat.push(n), walk(n.children ?? [])))
  walk(orgs.orgs)
  session.orgs = flat
}

export async function reloadTaxonomy() {
  setTaxonomy(await request<TaxonomyTree>('/taxonomy'))
}

function setTaxonomy(tax: TaxonomyTree) {
  const nodes = new Map<string, NodeInfo>()
  const walk = (n: TaxNode, parent: NodeInfo | undefined, dimension: boolean) => {
    const info: NodeInfo = {
      id: n.id, name: n.name, rule: n.rule, parent: parent?.id, dimension,
      scene: parent ? parent.scene : n.id, path: [...(parent?.path ?? []), n.name], depth: parent ? parent.depth + 1 : 0,
      children: (n.children ?? []).map((c) => c.id),
    }
    nodes.set(n.id, info)
    n.children?.forEach((c) => walk(c, info, dimension))
  }
  tax.scenes?.forEach((s) => walk(s, undefined, false))
  tax.dimensions?.forEach((d) => walk(d, undefined, true))
  session.taxonomy = tax
  session.nodes = nodes
}

/** A node's name; with path, from the scene down (公共设施设备 › 电梯). */
export function nodeName(id: string | undefined, path = false): string {
  if (!id) return ''
  const n = session.nodes.get(id)
  if (!n) return id
  return path ? n.path.join(' › ') : n.name
}

export function scopeLabel(): string {
  return session.me?.scope || ''
}
