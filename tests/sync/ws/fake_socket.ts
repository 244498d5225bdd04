/** The part of a server-side WebSocket the hub uses, with the send buffer under test control. */
export class FakeSocket extends EventTarget {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  sent: unknown[] = [];
  closedWith: number | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code: number) {
    if (this.closedWith !== null) return;
    this.closedWith = code;
    this.readyState = WebSocket.CLOSED;
    queueMicrotask(() => this.dispatchEvent(new Event("close")));
  }
  receive(data: string) {
    this.dispatchEvent(new MessageEvent("message", { data }));
  }
}
