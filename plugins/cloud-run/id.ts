/** The Cloud Run simulator's plugin id (a module of its own so the plugin can load without the simulator). */
export const PLUGIN = 'devloop:cloud-run';
