export { ServerLogs, type ServerLogsOptions } from './server-logs.js';
export { CONSOLE_OUTPUT, type WorkerOutput } from './worker-output.js';
export { pipeWorkerOutput } from './worker-output.js';
export { formatAccess, formatEvent, log4jTimestamp, type AccessEvent, type LogEvent, type LogFormat, type LogLevel } from './format.js';
