import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { restore } from './lib/session'
import './style.css'

// The kept key is checked before the first view renders, so a view never
// starts with a key the service no longer takes.
restore().finally(() => {
  createApp(App).use(router).mount('#app')
})
