/**
 * Sets zod's messages to English. RIQ's schemas use `zod/mini`: its functions tree-shake (about
 * 30 KB of a function's bundle, where `import * as z from 'zod'` kept 93 KB) and its schemas are
 * cheaper to build while a function starts; but it ships without a locale, and its messages would
 * all read "Invalid input". Every module that defines a schema imports this one for its effect.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());
