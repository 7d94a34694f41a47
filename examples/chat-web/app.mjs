// stompwire chat: the browser side of the reference server's chat (/app/chat.send -> /topic/room.<room>).
// Plain ESM, no framework, no build step. The package does the hard parts (reconnect with backoff,
// subscriptions re-sent after a reconnect, the offline queue, receipts); this file only shows them.
//
// Query parameters (all optional): room, user (join at once), server (broker URL; default: /ws on this
// page's host), passcode (for a server started with --user), heartbeat (ms, both directions).

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const ui = {
  joinView: $('join-view'), joinForm: $('join-form'), joinUser: $('join-user'), joinRoom: $('join-room'),
  joinError: $('join-error'), chatView: $('chat-view'), roomName: $('room-name'), userName: $('user-name'),
  badge: $('badge'), queued: $('queued'), messages: $('messages'), notices: $('notices'),
  sendForm: $('send-form'), input: $('message-input'),
};
const ROOM = /^[A-Za-z0-9._-]{1,64}$/;

// The package loads on its own (a module and the .wasm next to it); failing to find it is the one
// setup mistake worth a clear message.
const pkg = import('stompwire').then(async (m) => (await m.init(), m));
pkg.catch((e) => showJoinError(`Could not load the stompwire package (${e.message}). Build the wasm preset and see examples/chat-web/README.md.`));

ui.joinUser.value = params.get('user') ?? localStorage.getItem('stompwire-chat-user') ?? '';
ui.joinRoom.value = params.get('room') ?? 'lobby';
ui.joinForm.addEventListener('submit', (e) => {
  e.preventDefault();
  join(ui.joinUser.value.trim(), ui.joinRoom.value.trim());
});
if (params.get('user') && params.get('room')) join(params.get('user').trim(), params.get('room').trim());

function showJoinError(text) {
  ui.joinError.textContent = text;
  ui.joinError.hidden = false;
}

async function join(user, room) {
  if (!user) return showJoinError('Pick a name.');
  if (!ROOM.test(room)) return showJoinError('Room names are 1-64 letters, digits, ".", "_" or "-".');
  let Client;
  try {
    ({ Client } = await pkg);
  } catch {
    return; // already explained
  }
  localStorage.setItem('stompwire-chat-user', user);
  const query = new URLSearchParams(params);
  query.set('room', room);
  query.set('user', user);
  history.replaceState(null, '', `?${query}`);
  ui.joinView.hidden = true;
  ui.chatView.hidden = false;
  ui.roomName.textContent = room;
  ui.userName.textContent = user;
  document.title = `#${room} · stompwire chat`;
  startChat(Client, user, room);
}

function startChat(Client, user, room) {
  const heartbeat = params.has('heartbeat') ? Number(params.get('heartbeat')) : 10000;
  const client = new Client({
    brokerURL: params.get('server') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
    connectHeaders: { login: user, ...(params.has('passcode') ? { passcode: params.get('passcode') } : {}) },
    heartbeatIncoming: heartbeat,
    heartbeatOutgoing: heartbeat,
    // Hidden tabs throttle the page's timers (to once a minute after a while): heart-beats from a
    // Worker keep the connection alive when the chat sits in a background tab.
    heartbeatStrategy: 'worker',
    reconnect: { initialDelay: 500, maxDelay: 5000 },
  });
  window.stompwireChat = { client, user, room }; // for the console (and the browser tests)

  const outbox = []; // own messages not confirmed yet: {content, queued, li}
  let everConnected = false;
  let countdown = 0;

  const setBadge = (state, text, why) => {
    ui.badge.dataset.state = state;
    ui.badge.textContent = text;
    ui.badge.title = why ?? '';
  };
  const showQueued = () => {
    const n = outbox.filter((o) => o.queued).length;
    ui.queued.dataset.count = String(n);
    ui.queued.textContent = `${n} queued`;
    ui.queued.title = 'typed while offline: sent in order when the connection is back';
    ui.queued.hidden = n === 0;
  };

  // The badge: the client's state, and "offline" when the browser says it has no network (the client
  // keeps trying; its attempts fail until the network is back).
  let current = { state: client.state };
  const render = () => {
    clearInterval(countdown);
    const { state, reason } = current;
    const why = reason ? `${reason.code}: ${reason.message}` : undefined;
    if (state === 'connected') {
      setBadge('connected', 'connected');
    } else if (state === 'inactive' || state === 'failed' || state === 'deactivating' || !navigator.onLine) {
      setBadge('offline', 'offline', why ?? (navigator.onLine ? undefined : 'no network'));
    } else if (state === 'reconnecting') {
      // The core decided when the next attempt happens (backoff with jitter); count down to it.
      const tick = () => {
        const at = client.metrics().nextAttemptAt;
        const s = at === undefined ? 0 : Math.ceil((at - performance.now()) / 1000);
        setBadge('reconnecting', s > 0 ? `reconnecting in ${s}s` : 'reconnecting…', why);
      };
      tick();
      countdown = setInterval(tick, 250);
    } else {
      setBadge(everConnected ? 'reconnecting' : 'connecting', everConnected ? 'reconnecting…' : 'connecting…', why);
    }
  };
  addEventListener('online', render);
  addEventListener('offline', render);

  client.onStateChange((change) => {
    current = change;
    if (change.state === 'connected') everConnected = true;
    render();
    if (change.state !== 'connected') {
      // Whatever is unconfirmed now waits for the next connection (and is re-sent then).
      for (const o of outbox) if (!o.queued) mark(o, true);
      showQueued();
    }
  });

  client.subscribe(`/topic/room.${room}`, (message) => {
    let m;
    try {
      m = message.json();
    } catch {
      return;
    }
    if (m?.type !== 'CHAT') return;
    // Our own message is back from the server: it replaces its outbox line.
    if (m.sender === user) {
      const o = outbox.find((x) => x.content === m.content && x.li.isConnected);
      o?.li.remove();
    }
    addMessage(m, m.sender === user);
  });
  client.activate();

  ui.sendForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const content = ui.input.value.trim();
    if (!content) return;
    ui.input.value = '';
    send(content);
  });

  function send(content) {
    const o = { content, queued: false, li: document.createElement('li') };
    o.li.className = 'message own pending';
    o.li.append(meta(user, undefined, 'sending…'), text(content));
    ui.messages.append(o.li);
    scroll();
    outbox.push(o);
    if (client.state !== 'connected') mark(o, true);
    showQueued();
    client.publishJson('/app/chat.send', { content, room }, { receipt: true }).then(
      () => {
        // The broker's RECEIPT: it has the message (after a reconnect, if it waited in the queue).
        outbox.splice(outbox.indexOf(o), 1);
        o.li.remove();
        if (o.queued) notice('confirmed', `✓ “${content}” delivered after the reconnect (server receipt)`);
        showQueued();
      },
      (err) => {
        outbox.splice(outbox.indexOf(o), 1);
        o.li.classList.add('failed');
        o.li.querySelector('.status').textContent = 'not sent';
        notice('error', `“${content}” was not sent: ${err.code ?? err.message}`);
        showQueued();
      },
    );
  }

  function mark(o, queued) {
    o.queued = queued;
    o.li.classList.toggle('queued', queued);
    o.li.querySelector('.status').textContent = queued ? 'queued' : 'sending…';
  }
}

function meta(sender, timestamp, status) {
  const div = document.createElement('div');
  div.className = 'meta';
  const who = document.createElement('span');
  who.className = 'sender';
  who.textContent = sender;
  div.append(who);
  if (timestamp !== undefined) {
    const t = document.createElement('time');
    t.dateTime = new Date(timestamp).toISOString();
    t.textContent = new Date(timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    div.append(t);
  }
  if (status) {
    const s = document.createElement('span');
    s.className = 'status';
    s.textContent = status;
    div.append(s);
  }
  return div;
}

function text(content) {
  const p = document.createElement('p');
  p.className = 'content';
  p.textContent = content;
  return p;
}

function addMessage(m, own) {
  const li = document.createElement('li');
  li.className = own ? 'message own' : 'message';
  li.dataset.sender = m.sender;
  li.append(meta(m.sender, m.timestamp), text(m.content));
  // Confirmed messages go above the ones still waiting in the outbox.
  const firstPending = ui.messages.querySelector('.pending');
  ui.messages.insertBefore(li, firstPending);
  scroll();
}

function scroll() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function notice(kind, message) {
  const div = document.createElement('div');
  div.className = `notice ${kind}`;
  div.textContent = message;
  ui.notices.append(div);
  setTimeout(() => div.remove(), 8000);
}
