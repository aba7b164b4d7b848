import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { restore, setReady } from './lib/session'
import './style.css'

// The kept key is checked before the first view renders (the router waits
// for it), so a view never starts with a key the service no longer takes;
// meanwhile the app mounts and the view's own code is fetched.
const loader = router.resolve(location.pathname).matched[0]?.components?.default
if (typeof loader === 'function') (loader as () => Promise<unknown>)()?.catch?.(() => {})
setReady(restore())
createApp(App).use(router).mount('#app')
