/** The Workflow binding's part (../parts.ts); a Workflow's runs stay in the prelude (workflows/run.ts). */
import { Workflow } from '../bindings/workflow.ts';
import { registerPart } from '../parts.ts';

registerPart('workflow', { Workflow });
