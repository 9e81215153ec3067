"""The Flask extensions, created unbound here and bound to the app by the factory.

Blueprints import them from this module, never from the factory module.
"""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

migrate = Migrate()
limiter = Limiter(get_remote_address)
csrf = CSRFProtect()
