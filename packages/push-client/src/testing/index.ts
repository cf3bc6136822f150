export { startTestReceiver, seriesName } from './receiver.js';
export type { ReceivedRequest, ReceiverBehaviour, ReceiverReply, TestReceiver } from './receiver.js';
