/**
 * The workflow errors TorchServe reports (their `type` is the Java simple class name): the archive's
 * WorkflowNotFoundException (404), InvalidWorkflowException and the ensemble's InvalidDAGException (400),
 * and the WorkflowException that carries a failed registration (500).
 */
import { ServeError } from '../errors.js';

export class WorkflowNotFoundException extends ServeError {
  constructor(message: string) {
    super('WorkflowNotFoundException', 404, message);
  }
}

export class InvalidWorkflowException extends ServeError {
  constructor(message: string) {
    super('InvalidWorkflowException', 400, message);
  }
}

export class InvalidDAGException extends ServeError {
  constructor(message: string) {
    super('InvalidDAGException', 400, message);
  }
}

export class WorkflowException extends ServeError {
  constructor(message: string, status = 500) {
    super('WorkflowException', status, message);
  }
}
