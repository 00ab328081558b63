"""A carrier is one module under gateway/carriers/ and its config table: the registry finds it on disk, its
settings come from its [<name>] table and from <NAME>_<SETTING>, and nothing in the core names it."""

import dataclasses
import shutil
import subprocess
import sys
import textwrap
import tomllib
import typing
from pathlib import Path

import pytest

from gateway import carriers
from gateway.carriers import Carrier
from gateway.config import DEFAULT_PATH, ENVIRONMENT, OFFLINE_LOOKUP, Config, from_dict, load

PACKAGE = Path(carriers.__file__).parent
SETTINGS = [(name, setting) for name, settings in carriers.settings_classes().items()
            for setting in dataclasses.fields(settings)]


def test_the_registry_names_the_carrier_modules_on_disk():
    on_disk = {path.stem for path in PACKAGE.glob("*.py") if path.stem not in ("__init__", "base")}
    on_disk |= {path.parent.name for path in PACKAGE.glob("*/__init__.py") if not path.parent.name.startswith("_")}
    assert set(carriers.names()) == on_disk and {"sandbox", "twilio"} <= on_disk
    assert {"sandbox", "twilio"} <= set(carriers.lookup_names()) <= set(carriers.names())


@pytest.mark.parametrize("name", carriers.names())
def test_each_carrier_module_declares_what_the_registry_uses(name):
    module = carriers.modules()[name]
    settings = module.Settings()  # every setting has a default
    assert dataclasses.is_dataclass(settings) and type(settings).__dataclass_params__.frozen
    assert set(typing.get_type_hints(module.Settings).values()) <= {str, int, float, bool, list, dict}
    config = Config()
    built = module.create(settings, config)
    assert isinstance(built, Carrier) and built.name == name  # the module's name is the carrier's


def test_carrier_names_and_variables_stay_clear_of_the_core():
    core = {field.name for field in dataclasses.fields(Config)}
    assert not set(carriers.names()) & (core | {OFFLINE_LOOKUP})
    variables = [f"{name}_{setting.name}".upper() for name, setting in SETTINGS]
    assert len(set(variables)) == len(variables)
    assert not set(variables) & (set(ENVIRONMENT) | {"GATEWAY_CONFIG", "GATEWAY_API_TOKEN"})


def _other_value(default):
    """A valid value of the setting's type that differs from its default."""
    if isinstance(default, bool):
        return not default
    if isinstance(default, (int, float)):
        return default + 7
    return "http://other.example" if default != "http://other.example" else "http://another.example"


@pytest.mark.parametrize("name, setting", SETTINGS, ids=[f"{name}.{setting.name}" for name, setting in SETTINGS])
def test_every_carrier_setting_comes_from_its_table_and_from_the_environment(tmp_path, name, setting):
    default = getattr(Config().per_carrier[name], setting.name)
    value = _other_value(default)
    assert getattr(from_dict({name: {setting.name: value}}).per_carrier[name], setting.name) == value
    file = tmp_path / "gateway.toml"
    file.write_text(f"[{name}]\n{setting.name} = {value!r}\n".replace("'", '"').replace("True", "true")
                    .replace("False", "false"))
    assert getattr(load({"GATEWAY_CONFIG": str(file)}).per_carrier[name], setting.name) == value
    variable = f"{name}_{setting.name}".upper()
    from_env = load({variable: str(value).lower() if isinstance(value, bool) else str(value)})
    assert getattr(from_env.per_carrier[name], setting.name) == value


def test_config_toml_documents_every_carrier_setting():
    tables = tomllib.loads(DEFAULT_PATH.read_text())
    assert {name: set(tables.get(name, ())) for name in carriers.names()} == \
        {name: {setting.name for setting in dataclasses.fields(settings)}
         for name, settings in carriers.settings_classes().items()}


PIGEON = '''
"""A carrier added by this test: one module, nothing else."""

from dataclasses import dataclass

from gateway.carriers.base import Accepted, Carrier
from gateway.config import ConfigError, carrier_setting


@dataclass(frozen=True)
class Settings:
    loft: str = ""
    wings: int = 2


def check(settings, config):
    if not settings.loft:
        raise ConfigError(f"{carrier_setting('pigeon', 'loft')}: required when pigeon is a carrier")


class Pigeon(Carrier):
    name = "pigeon"
    inbound_path = "/webhooks/pigeon/in"
    status_path = "/webhooks/pigeon/status"

    def __init__(self, settings):
        self.settings = settings

    async def send(self, message, status_callback):
        return Accepted("coo")


def create(settings, config):
    return Pigeon(settings)
'''

USE_PIGEON = '''
import sys
from gateway.config import ConfigError, load
from gateway.app import create_app
from gateway.keys import CARRIERS

secrets = {"GATEWAY_VERIFICATION_SECRET": "x" * 16, "GATEWAY_WEBHOOK_SECRET": "y" * 16}
try:
    load({"CARRIER": "pigeon", **secrets})
except ConfigError as error:
    print(error)
config = load({"CARRIER": "pigeon", "PIGEON_LOFT": "north", "PIGEON_WINGS": "4", **secrets})
app = create_app(config)
paths = sorted(route.resource.canonical for route in app.router.routes() if "pigeon" in route.resource.canonical)
print(app[CARRIERS].default.settings, paths)
'''


def test_adding_a_carrier_is_adding_its_module(tmp_path):
    """A copy of the gateway package with one more module in gateway/carriers/ serves that carrier."""
    shutil.copytree(PACKAGE.parent, tmp_path / "gateway", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "gateway" / "carriers" / "pigeon.py").write_text(textwrap.dedent(PIGEON))
    shutil.copy(PACKAGE.parent.parent / "config.toml", tmp_path / "config.toml")
    run = subprocess.run([sys.executable, "-c", USE_PIGEON], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "pigeon.loft (PIGEON_LOFT): required when pigeon is a carrier",
        "Settings(loft='north', wings=4) ['/webhooks/pigeon/in', '/webhooks/pigeon/status']"]
