"""Rooms: a teacher's run broadcast live (`share_live` on /ws, viewers on /ws/room/{id}). The
viewers get the teacher's very messages (the same bytes), newest first and never a queue; the
room ends with the teacher, handing each viewer a link that replays the run to where it ended."""

from __future__ import annotations

import numpy as np

from server.frames import decode


def frame_at(s, epoch: int) -> dict:
    frame = s.until("frame")
    while frame["epoch"] < epoch:
        frame = s.until("frame")
    return frame


def share(teacher, name: str = "Ms Chen") -> dict:
    teacher.send(type="share_live", name=name)
    room = teacher.until("room")
    assert room["live"] and room["name"] == " ".join(name.split())
    return room


def test_a_viewer_sees_the_teachers_run_and_the_room_ends_with_a_link(client, open_session, read_ws):
    teacher = open_session()
    teacher.start(dataset="xor", networkShape=[4])
    teacher.send(type="step", n=2)
    frame_at(teacher, 2)
    room = share(teacher, "  Ms   Chen ")
    assert room["name"] == "Ms Chen" and room["viewers"] == 0 and len(room["id"]) >= 12
    with client.websocket_connect(f"/ws/room/{room['id']}") as ws:
        viewer = read_ws(ws)
        first = viewer.next()
        assert first["type"] == "room" and first["name"] == "Ms Chen"
        config = viewer.until("config")
        assert config["config"]["dataset"] == "xor" and config["warnings"] == []
        assert viewer.next()["type"] == "data"
        now = viewer.next()
        assert now["type"] == "frame" and now["epoch"] == 2  # the picture when it joined
        assert viewer.until("state")["state"] == "paused"
        while teacher.until("room")["viewers"] != 1:  # counts come at most once a second
            pass

        # The teacher's change and steps reach the viewer, as the teacher got them.
        teacher.send(type="update", changes={"learningRate": 0.3})
        assert viewer.until("config")["config"]["learningRate"] == 0.3
        teacher.send(type="step", n=3)
        mine = frame_at(teacher, 5)
        theirs = frame_at(viewer, 5)
        for key in ("weights", "biases", "output"):
            np.testing.assert_array_equal(theirs["_arrays"][key], mine["_arrays"][key])

        teacher.send(type="stop_sharing")
        ended = teacher.until("room_ended")
        assert ended["id"] == room["id"]
        link = ended["link"]
        assert link.startswith("/?") and "&h=v1." in link and link.endswith("&at=5")
        assert viewer.until("room_ended")["link"] == link
        assert viewer.next()["type"] == "_closed"

    # The link replays the run to the same weights.
    student = open_session()
    student.send(type="start", url=link[2:])
    frame = student.until("frame")
    assert frame["epoch"] == 5
    np.testing.assert_array_equal(frame["_arrays"]["weights"], mine["_arrays"]["weights"])


def test_a_room_that_is_not_there_or_full_is_refused_by_name(make_client, open_session, read_ws):
    app = make_client(max_viewers_per_room=1, max_rooms=1)
    with app.websocket_connect("/ws/room/nope") as ws:
        error = read_ws(ws).next()
        assert (error["code"], error["field"]) == ("no_room", "room")
    teacher = open_session(app)
    teacher.start(networkShape=[2])
    room = share(teacher)
    other = open_session(app)
    other.start(networkShape=[2])
    other.send(type="share_live")
    error = other.until("error")
    assert error["code"] == "rooms_full" and "1 live rooms at most" in error["message"]
    with app.websocket_connect(f"/ws/room/{room['id']}") as ws:
        assert read_ws(ws).next()["type"] == "room"
        with app.websocket_connect(f"/ws/room/{room['id']}") as ws2:
            error = read_ws(ws2).next()
            assert error["code"] == "room_full" and "1 viewers" in error["message"]
    health = app.get("/api/health").json()
    assert health["rooms"] == {"rooms": 1, "viewers": 0}


def test_the_room_ends_when_the_teacher_leaves(client, open_session, read_ws):
    teacher = open_session()
    teacher.start(networkShape=[2])
    room = share(teacher)
    with client.websocket_connect(f"/ws/room/{room['id']}") as ws:
        viewer = read_ws(ws)
        viewer.until("state")
        teacher.ws.close()
        ended = viewer.until("room_ended")
        assert ended["link"].startswith("/?") and "at=" not in ended["link"]  # at epoch 0
    assert client.get("/api/health").json()["rooms"] == {"rooms": 0, "viewers": 0}


def test_binary_kinds_are_read_from_plain_and_deflated_headers():
    import zlib

    from server.frames import encode
    from server.rooms import binary_kind

    data = encode({"type": "data", "version": 1}, {"a": np.zeros(3, np.float32)})
    frame = encode({"type": "frame", "seq": 1}, {"a": np.zeros(3, np.float32)})
    assert decode(data)[0]["type"] == "data"
    assert (binary_kind(data, False), binary_kind(frame, False)) == ("data", "frame")
    deflated = [zlib.compress(m, 1, wbits=-15) for m in (data, frame)]
    assert [binary_kind(m, True) for m in deflated] == ["data", "frame"]


def test_a_viewer_with_a_full_transport_is_sent_the_newest_frame_once_it_drains():
    """`RawViewer`: messages go out as whole WebSocket messages, encoded once by the room; a
    frame waits while the viewer's transport is full, and then only the newest goes."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from server.rooms import RawViewer, Room
    from server.wsproto import ws_message

    async def scenario() -> tuple[list[bytes], list[bytes], list[bytes]]:
        room = Room("r", "t", None)
        written: list[bytes] = []
        full = [False]
        viewer = RawViewer.__new__(RawViewer)
        viewer.room, viewer.write = room, written.append
        viewer.buffered = lambda: 10**7 if full[0] else 0
        viewer.sent, viewer.full_since = {}, None
        room.viewers.add(viewer)
        room.publish("config", {"type": "config", "version": 1, "warnings": ["x"]})
        room.publish("frame", b"frame-1")  # within 1/30 s of the config: on a timer
        assert len(written) == 1
        await asyncio.sleep(0.05)
        first = list(written)
        full[0] = True
        written.clear()
        for n in range(2, 6):
            await asyncio.sleep(0.04)  # past the viewers' frame interval
            room.publish("frame", f"frame-{n}".encode())
        room.publish("state", {"type": "state", "state": "paused"})
        held = list(written)
        assert viewer.full_since is not None
        full[0] = False
        written.clear()
        viewer.poke()
        return first, held, list(written)

    # A thread of its own: the browser tests' Playwright keeps an event loop on the main thread.
    with ThreadPoolExecutor(1) as pool:
        first, held, after = pool.submit(asyncio.run, scenario()).result()
    assert first == [ws_message(b'{"type":"config","version":1,"warnings":[],"errors":[]}', text=True),
                     ws_message(b"frame-1")]
    assert held == [ws_message(b'{"type":"state","state":"paused"}', text=True)]  # no frame
    assert after == [ws_message(b"frame-5")]  # the newest alone


def test_a_websocket_message_is_framed_as_rfc_6455_says():
    from server.wsproto import ws_message

    assert ws_message(b"hi", text=True) == b"\x81\x02hi"
    assert ws_message(b"x" * 200)[:4] == b"\x82\x7e\x00\xc8"
    assert ws_message(b"x" * 70000)[:10] == b"\x82\x7f" + (70000).to_bytes(8, "big")
