/**
 * The Workflows part (../parts.ts): the binding (`env.MY_WORKFLOW`) and a Workflow instance's
 * run (workflows/run.ts). A worker that defines a Workflow has its `[[workflows]]` binding, so
 * the isolate a run comes to has loaded this part.
 */
import { Workflow } from '../bindings/workflow.ts';
import { registerPart } from '../parts.ts';
import { runWorkflow } from '../workflows/run.ts';

registerPart('workflow', { Workflow, runWorkflow });
