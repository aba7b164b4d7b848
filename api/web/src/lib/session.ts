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
})

export const signedIn = computed(() => !!session.me)

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
    session.me = await request<Me>('/me')
    await loadWorld()
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      session.expired = true
      forget()
    } else {
      session.loadError = e instanceof ApiError ? e : new ApiError(0, 'network', String(e))
    }
  }
}

export async function loadWorld() {
  session.loadError = null
  const [tax, orgs] = await Promise.all([
    request<TaxonomyTree>('/taxonomy'),
    session.me?.may.read ? request<{ orgs: OrgNode[]; records: number }>('/orgs') : Promise.resolve({ orgs: [], records: 0 }),
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
