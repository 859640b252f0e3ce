export const PLUGIN = 'devloop:monitoring';
