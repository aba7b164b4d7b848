/**
 * A record id as people read it. A record a scoped key sent under an id that
 * a record outside its scope already held is kept as U+001F scope U+001F id;
 * a wider key sees that id, which is shown as "id（scope）". Other ids are
 * shown as they are.
 */
export function displayID(id: string): string {
  const m = /^\u001f([^\u001f]+)\u001f([^\u001f]+)$/.exec(id)
  return m ? `${m[2]}（${m[1]}）` : id
}
