// The child supervisor's public entry points; its stages live in child/.
export { ChildSupervisor } from './child/supervisor.js';
export { LAST_LINES, type ChildOptions } from './child/options.js';
export type { PortHolder } from './child/port-holders.js';
