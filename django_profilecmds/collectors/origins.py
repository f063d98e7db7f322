"""Where a query comes from, found by walking its frames (never by formatting a traceback).

The origin of a query is the innermost frames in project code, and, when a template is
rendering, the template line being rendered and the ``{% for %}`` line around it; under
lineprof, also the line each line-profiled function is on. The walk ends at the harness's
frames, or at the first frame that an earlier query's walk met, reusing what lay beyond it, so
the queries of a loop cost a walk from the query out to the loop, not to the top of the stack.

A query that async code runs through sync_to_async has the awaiting coroutine's frames for
callers: they are found on the event loop's tasks (:mod:`.asynctasks`).

This is the hottest code of a profiled request (it runs for every query, and is traced too
under line_profiler 4): the flags and items below are plain ints and tuples for that reason.
The module is over 300 lines because the walk, its anchor cache and the classification of
files are one loop over shared state; apart, each would read the others' attributes.
"""

from __future__ import annotations

import inspect
import sys
import threading
from collections.abc import Iterable
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Final, Literal, NamedTuple

from django_profilecmds.collectors.asynctasks import ASYNC_LOOP, suspended_chains
from django_profilecmds.collectors.lines import LineKey
from django_profilecmds.collectors.relations import QUERYSET, Relation, RelationFinder
from django_profilecmds.projectcode import ProjectCode

if TYPE_CHECKING:
    import asyncio

    from django.template.defaulttags import ForNode

MAX_STACK = 3  # the origin and two callers: what the report shows

# (file, line, function): one project frame of a query's stack.
Location = tuple[str, int, str]
# A line-profiled function that was running, and on which line.
ProfiledLine = tuple[LineKey, int]

# What a frame's file is, for the walk (flags). A file with SPECIAL code holds a template
# node's render_annotated or sync_to_async's thread handler; a PROFILED one, line-profiled code;
# a RELATION one (library code only) the descriptors and querysets that tell which relation
# ran a query (:mod:`.relations`); a SHOWN one is library code that says where a query came
# from when no project frame runs it directly (a serializer, the admin; not the ORM).
LIBRARY, PROJECT, STOP, SPECIAL, PROFILED, RELATION, SHOWN = 0, 1, 2, 4, 8, 16, 32

# What the walk learns from one frame: tuples tagged by their first field. One is built for
# each project frame walked, where a tuple display costs 50 ns and a NamedTuple 430 ns (its
# __new__ is Python code, traced too under line_profiler 4); a walk's items, being hashable,
# are the key of the origin found from them.
FRAME: Final = 0
LINE: Final = 1
RENDER: Final = 2
HANDOFF: Final = 3
END: Final = 4
FrameItem = tuple[Literal[0], Location]  # a project frame
LineItem = tuple[Literal[1], LineKey, int]  # a line-profiled function, on this line
# A template node rendering: (RENDER, id(its origin), template name, line, is a {% for %}).
RenderItem = tuple[Literal[2], int, str, int, bool]
HandoffItem = tuple[Literal[3]]  # sync_to_async's thread handler: the callers are elsewhere
EndItem = tuple[Literal[4]]  # the harness: nothing further out is the project's
Item = FrameItem | LineItem | RenderItem | HandoffItem | EndItem
HANDOFF_ITEMS: Final[tuple[HandoffItem]] = ((HANDOFF,),)
END_ITEM: Final[EndItem] = (END,)

# A generator or coroutine frame can be resumed by another caller: never a cached anchor.
RESUMABLE = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


class Origin(NamedTuple):
    """What the walk found for one query. The queries whose walks found the same (a loop's)
    share one, so its fields are tuples."""

    stack: tuple[Location, ...]  # up to MAX_STACK project frames, innermost first
    template: tuple[str, int] | None  # the template line being rendered: (name, line)
    loop_line: int | None  # the {% for %} around it, in the same template
    lines: tuple[ProfiledLine, ...]  # every line-profiled function that was running
    crossed: bool  # sync_to_async ran the query, for a coroutine on another thread
    # The {% for %} around it in any template ({% include %}, {% extends %} blocks, inclusion
    # tags), and the template lines from the innermost out to that loop's template: the line
    # being rendered in each template the rendering went through.
    loop: tuple[str, int] | None = None
    templates: tuple[tuple[str, int], ...] = ()


# A frame that an earlier walk met and that may still be on the stack (while it runs, the
# frames outside it wait on the same call, so what they told that walk still holds):
#   (frame, height: its index in the last walk's path, outermost first,
#    outward: the items of the frames outside it, innermost first,
#    fixed: its own items when they cannot change (a template node's), else None,
#    digests: the origins of the walks that ended here, by the items they found up to here).
# A bare tuple, read by unpacking: the demo's N+1 page makes 1.7 anchors per query, and as a
# NamedTuple (520 ns to build against 90 ns) they made each query's bookkeeping 1.7 us slower
# (7% of its 23 us).
Anchor = tuple[
    FrameType, int, tuple[Item, ...], tuple[Item, ...] | None, dict[tuple[Item, ...], Origin]
]

# A frame the walk may keep as an anchor: the frame, how many items the walk had found up to
# and including it, and its own items if fixed.
NewAnchor = tuple[FrameType, int, tuple[Item, ...] | None]


def _template_hooks() -> tuple[CodeType, type[ForNode]]:
    from django.template.base import Node
    from django.template.defaulttags import ForNode

    return Node.render_annotated.__code__, ForNode


class OriginWalker:
    """Finds the origin of a query from the frame that ran it, remembering the frames it met.

    ``harness_files`` are the files of the code that sent the request: the walk stops at their
    frames, since nothing further out is the project's doing.
    """

    def __init__(self, harness_files: Iterable[str] = ()) -> None:
        self.is_project = ProjectCode()
        self.harness_files = frozenset(harness_files)
        self.file_kinds: dict[str, int] = {}
        from asgiref.sync import SyncToAsync

        # Where sync_to_async runs a function: the frames outside are not its callers.
        self.thread_handler_code = SyncToAsync.thread_handler.__code__
        self.render_code, self.for_node = _template_hooks()
        self.special_files = {self.render_code.co_filename, self.thread_handler_code.co_filename}
        self.line_ids: dict[int, tuple[CodeType, LineKey]] = {}
        self.profiled_files: set[str] = set()
        # Frames met by earlier walks that may still be on the stack, by id(frame).
        self.anchors: dict[int, Anchor] = {}
        self.anchor_path: list[FrameType] = []  # the anchors of the last walk, by height
        self.anchor_owner: int | None = None  # the thread whose frames they are
        self.relations = RelationFinder()
        # What the last walk found besides its origin: the relation that ran the query, and
        # for a query with no project frame, the library frames that ran it.
        self.last_relation: Relation | None = None
        self.last_library: LibraryStack | None = None
        self._libraries: dict[LibraryStack, LibraryStack] = {}

    def locate(self, frame: FrameType | None) -> Origin:
        """The origin of the query that ``frame`` (the execute wrapper's caller) runs: its
        project-code stack, template line, {% for %} line, line-profiled lines, and whether it
        runs for a coroutine on another thread (sync_to_async). Not to be changed: the
        queries whose walks found the same share it.

        Hot path (every query; traced too under lineprof with line_profiler 4). A library
        frame costs one dict lookup by file name. The walk outwards ends at the harness, or at
        a frame an earlier query's walk met: while a frame runs, the frames outside it wait on
        the same call, so what they told that walk still holds (the N+1 queries of one loop
        share every frame from the loop outwards).
        """
        sys._getframe().f_trace_lines = False
        kinds = self.file_kinds
        anchors = self.anchors
        render, handoff = self.render_code, self.thread_handler_code
        items: list[Item] = []
        new: list[NewAnchor] = []  # frames to remember, innermost first
        relation_codes = self.relations.code_ids
        descriptor: tuple[FrameType, int] | None = None
        queryset: FrameType | None = None
        library: list[LibraryFrame] = []
        while frame is not None:
            code = frame.f_code
            kind = kinds.get(code.co_filename)
            if kind is None:
                kind = self._file_kind(code.co_filename)
            if not kind or (kind == SPECIAL and code is not render and code is not handoff):
                frame = frame.f_back  # library code
                continue
            if kind == SHOWN:  # library code between the query and the project's
                if not items and len(library) < MAX_LIBRARY:
                    library.append(self._library_frame(frame, code))
                frame = frame.f_back
                continue
            if kind == RELATION:  # Django's relation machinery, between the query and its caller
                if not items and descriptor is None:
                    # By id: a code object's own hash reads its bytecode (held by the finder).
                    code_kind = relation_codes.get(id(code))
                    if code_kind == QUERYSET:
                        if queryset is None:
                            queryset = frame  # the innermost: the one that runs the query
                    elif code_kind:
                        descriptor = (frame, code_kind)  # it made the queryset: it says more
                frame = frame.f_back
                continue
            if kind == STOP:
                items.append(END_ITEM)
                break
            known = anchors.get(id(frame))
            if known is not None:
                anchored, _height, outward, fixed, digests = known
                if anchored is frame:
                    items.extend(fixed or self._frame_items(frame, code, kind))
                    # The queries of a loop repeat the same few inner paths: digest each once.
                    signature = tuple(items)
                    found = digests.get(signature)
                    if found is None:
                        found = digests[signature] = _digest([*items, *outward])
                    self._remember(new, items, known)
                    relation = self.relations.of_frames(descriptor, queryset)
                    return self._found(found, relation, library)
            own = self._frame_items(frame, code, kind)
            if own:
                items.extend(own)
                if own[-1][0] == HANDOFF:
                    break
                if not code.co_flags & RESUMABLE:
                    fixed = own if own[0][0] == RENDER else None
                    new.append((frame, len(items), fixed))
            frame = frame.f_back
        self._remember(new, items, None)
        relation = self.relations.of_frames(descriptor, queryset)
        return self._found(_digest(items), relation, library)

    def _found(
        self, found: Origin, relation: Relation | None, library: list[LibraryFrame]
    ) -> Origin:
        """The walk's origin, with what else it learnt kept for the caller to read."""
        self.last_relation = relation
        if library:
            stack = tuple(library)
            self.last_library = self._libraries.setdefault(stack, stack)
        else:
            self.last_library = None
        return self._awaited(found) if found.crossed else found

    def _library_frame(self, frame: FrameType, code: CodeType) -> LibraryFrame:
        """A library frame as kept: its file, line, function, and its code and instruction,
        from which the analysis reads the for loop it is in (see loop_line)."""
        return (code.co_filename, frame.f_lineno, _function_name(code), code, frame.f_lasti)

    def _frame_items(self, frame: FrameType, code: CodeType, kind: int) -> tuple[Item, ...]:
        """What one frame of a project, special or line-profiled file adds to the walk."""
        sys._getframe().f_trace_lines = False  # as in locate
        items: tuple[Item, ...] = ()
        if kind & PROFILED:
            lined = self.line_ids.get(id(code))
            if lined is not None:
                profiled, key = lined
                if profiled is code:
                    items = ((LINE, key, frame.f_lineno),)
        if kind & SPECIAL:  # before PROJECT: asgiref or Django may be installed as project code
            if code is self.render_code:
                node = frame.f_locals.get("self")
                token = getattr(node, "token", None)
                origin = getattr(node, "origin", None)
                if token is not None and origin is not None:
                    name = str(origin.template_name or origin.name)
                    is_for = isinstance(node, self.for_node)
                    # id(): an Origin is not hashable, and items are digest keys.
                    return (*items, (RENDER, id(origin), name, token.lineno, is_for))
                return items
            if code is self.thread_handler_code:
                return HANDOFF_ITEMS
        if kind & PROJECT:
            return (*items, (FRAME, (code.co_filename, frame.f_lineno, _function_name(code))))
        return items

    def _remember(self, new: list[NewAnchor], items: list[Item], known: Anchor | None) -> None:
        """Keep the frames of this walk as anchors, dropping those of earlier walks that are no
        longer on the stack: at most one stack's worth of frames is held."""
        sys._getframe().f_trace_lines = False  # as in locate
        # One thread keeps anchors (the one that ran the first query): concurrent walks on
        # other threads still reuse nothing wrong, as their frames are never anchors.
        owner, thread = self.anchor_owner, threading.get_ident()
        if owner is None:
            self.anchor_owner = owner = thread
        if owner != thread:
            return
        anchors, path = self.anchors, self.anchor_path
        height = 0
        outward: tuple[Item, ...] = ()
        if known is not None:
            anchored, anchored_height, outward, _fixed, _digests = known
            height = anchored_height + 1
            if len(path) < height or path[height - 1] is not anchored:
                # Not the last walk's path (defensive): start afresh next time.
                anchors.clear()
                path.clear()
                return
        for stale in path[height:]:
            anchors.pop(id(stale), None)  # another thread may have dropped it
        del path[height:]
        for frame, after, fixed in reversed(new):
            anchors[id(frame)] = (frame, len(path), (*items[after:], *outward), fixed, {})
            path.append(frame)

    def forget_frames(self) -> None:
        self.anchors.clear()
        self.anchor_path.clear()
        self.anchor_owner = None
        self._libraries.clear()  # shared within a run; a long replay keeps none of them

    @property
    def line_codes(self) -> dict[CodeType, LineKey]:
        """Code objects of line-profiled functions and their line_profiler keys (lineprof)."""
        return dict(self.line_ids.values())

    @line_codes.setter
    def line_codes(self, codes: dict[CodeType, LineKey]) -> None:
        self.line_ids = {id(code): (code, key) for code, key in codes.items()}
        self.profiled_files = {code.co_filename for code in codes}
        self.file_kinds.clear()
        self.forget_frames()

    def _file_kind(self, filename: str) -> int:
        if filename in self.harness_files:
            kind = STOP
        else:
            kind = PROJECT if self.is_project(filename) else LIBRARY
            if filename in self.special_files:
                kind |= SPECIAL
            if filename in self.profiled_files:
                kind |= PROFILED
            if kind == LIBRARY:  # plain library code: does it tell anything?
                if filename in self.relations.files:
                    kind = RELATION
                elif _shown_library_file(filename):
                    kind = SHOWN
        self.file_kinds[filename] = kind
        return kind

    def _awaited(self, origin: Origin) -> Origin:
        """The origin of a query that sync_to_async ran: its callers are the frames of the
        coroutine awaiting it, on the event loop's thread."""
        loop = ASYNC_LOOP.get()
        if loop is None or len(origin.stack) >= MAX_STACK:
            return origin
        return origin._replace(stack=(*origin.stack, *self._awaiting_stack(loop))[:MAX_STACK])

    def _awaiting_stack(self, loop: asyncio.AbstractEventLoop) -> list[Location]:
        """Project frames of the coroutine suspended while this query runs for it: the task
        waiting on a sync_to_async call, else (an async generator hides that call) the first
        task suspended in project code."""
        for chain in suspended_chains(loop):
            stack: list[Location] = []
            for frame in reversed(chain):
                code = frame.f_code
                kind = self.file_kinds.get(code.co_filename)
                if kind is None:
                    kind = self._file_kind(code.co_filename)
                if kind & PROJECT:
                    stack.append((code.co_filename, frame.f_lineno, _function_name(code)))
                    if len(stack) == MAX_STACK:
                        break
            if stack:
                return stack
        return []


def _digest(items: list[Item]) -> Origin:
    """The walk's findings, innermost first, as a query's origin: up to MAX_STACK project
    frames, the template line being rendered, the {% for %} around it (in the same template
    or one that includes or extends it) with the line of each template on the way, every
    line-profiled line, and whether sync_to_async ran the query. Nothing further out is needed
    once the stack is full, unless a template line was found without its loop."""
    sys._getframe().f_trace_lines = False  # as in locate
    stack: list[Location] = []
    lines: list[ProfiledLine] = []
    templates: list[tuple[str, int]] = []
    loop: tuple[str, int] | None = None
    loop_line: int | None = None
    origins: list[int] = []  # the template origins of ``templates``
    learning = True
    for item in items:
        if item[0] == LINE:
            lines.append((item[1], item[2]))
        elif item[0] == HANDOFF:
            return _origin(stack, templates, loop, loop_line, lines, True)
        elif item[0] == END:
            break
        elif not learning:
            continue
        elif item[0] == FRAME:
            if len(stack) < MAX_STACK:
                stack.append(item[1])
            learning = len(stack) < MAX_STACK or (bool(templates) and loop is None)
        elif loop is None:
            # The first node is the one rendering; a {% for %} further out is its loop.
            is_loop = item[4] and bool(origins)
            if not origins or item[1] != origins[-1]:
                origins.append(item[1])
                templates.append((item[2], item[3]))
            if is_loop:
                loop = (item[2], item[3])
                loop_line = item[3] if item[1] == origins[0] else None
                learning = len(stack) < MAX_STACK
    return _origin(stack, templates, loop, loop_line, lines, False)


def _origin(
    stack: list[Location],
    templates: list[tuple[str, int]],
    loop: tuple[str, int] | None,
    loop_line: int | None,
    lines: list[ProfiledLine],
    crossed: bool,
) -> Origin:
    template = templates[0] if templates else None
    return Origin(tuple(stack), template, loop_line, tuple(lines), crossed, loop, tuple(templates))


MAX_LIBRARY = 8  # library frames kept between a query and the project code that started it

# A library frame: (file, line, function, its code, the offset of its current instruction).
LibraryFrame = tuple[str, int, str, CodeType, int]
LibraryStack = tuple[LibraryFrame, ...]


def _shown_library_file(filename: str) -> bool:
    """Whether a library frame says where a query came from: not the ORM, the template
    engine, Django's utilities and handlers, asgiref or the standard library's plumbing."""
    import os

    import django

    root = os.path.dirname(django.__file__)
    hidden = ("db", "template", "utils", "core", "dispatch", "apps")
    if filename.startswith(tuple(os.path.join(root, part, "") for part in hidden)):
        return False
    return "asgiref" not in filename and not filename.startswith("<")


def loop_line(code: CodeType, offset: int) -> int | None:
    """The line of the innermost ``for`` loop (or comprehension) that the instruction at
    ``offset`` of ``code`` runs inside, read from the bytecode: None outside any loop."""
    import dis

    best: int | None = None
    start = -1
    line: int | None = None
    for instruction in dis.get_instructions(code):
        # The instruction's line: line_number from Python 3.13, starts_line before it.
        number = getattr(instruction, "line_number", None)
        if number is None and type(instruction.starts_line) is int:
            number = instruction.starts_line
        if number is not None:
            line = number
        if instruction.opname == "FOR_ITER" and instruction.offset > start:
            target = instruction.argval
            if isinstance(target, int) and instruction.offset <= offset < target:
                start, best = instruction.offset, line
    return best


def _function_name(code: CodeType) -> str:
    return str(getattr(code, "co_qualname", code.co_name))
