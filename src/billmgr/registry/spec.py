"""FunctionSpec: what the XML metadata says a function is."""

from dataclasses import dataclass, field

# characters a field takes when its metadata names no maxlength, by field type:
# no caller can hand SQL (a LIKE pattern, an index) a value of any size
MAXLENGTH = {"textarea": 65_536}
MAXLENGTH_DEFAULT = 1_024


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "data"        # data | msg (value is a message key)
    sort: str | None = None   # alpha | digit | None (not sortable)


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "text"        # text | password | checkbox | select | textarea | hidden
    required: bool = False
    check: str | None = None  # int | email | url | date | datetime | ip | money | phone
    readonly: bool = False
    maxlength: int = MAXLENGTH_DEFAULT   # characters; see MAXLENGTH
    choices: tuple = ()       # static select values
    private: bool = False     # a secret (private="yes"): never shown back, logged or echoed


@dataclass(frozen=True)
class Handler:
    name: str                 # python: a module; cgi/xml: an executable in the addon dir
    type: str                 # python | cgi | xml
    source: str
    call: object = None       # the bound callable: (req) for a function or a before-event, (req, doc) after
    plugin: bool = False      # declared by a plugin file rather than the core


@dataclass
class FunctionSpec:
    name: str
    kind: str                 # list | form | action
    levels: frozenset
    source: str
    key: str = "id"
    keyname: str = "name"
    columns: tuple = ()
    fields: tuple = ()
    filters: tuple = ()
    metadata_xml: str = ""
    handler: Handler | None = None
    override: bool = False
    worker: bool = False      # always run off the event loop (slow by design, e.g. logins)
    own_writes: bool = False  # the handler writes in transactions of its own (transaction="own")
    before: tuple = ()        # Handlers run before the function (<event name="F"/>)
    after: tuple = ()         # Handlers run after it (<event name="F" after="yes"/>)
    family: str = ""          # a family member's family (``{type}.edit`` of ``vds.edit``), see Registry.get
    itemtype: str = ""        # the product type a family member acts on (``vds`` of ``vds.edit``)
    column_names: tuple = field(init=False)

    def __post_init__(self):
        self.column_names = tuple(c.name for c in self.columns)

    @property
    def group(self):
        """Where this function's messages are: a family member shares its family's."""
        return self.family or self.name

    def writes(self, params):
        """Whether a call needs the writer: forms submitted with sok, and every
        action -- unless the handler keeps its own transactions."""
        if self.kind == "list" or self.own_writes:
            return False
        if self.kind == "form":
            return bool(params.get("sok"))
        return True

    def column(self, name):
        return next((c for c in self.columns if c.name == name), None)
