from __future__ import annotations

import pytest

from django_profilecmds.exceptions import UserNotFound
from django_profilecmds.users import resolve_user


@pytest.mark.django_db
def test_an_unknown_user_names_each_field_tried_once(member):
    """The test user model's USERNAME_FIELD is its email field: tried once, named once."""
    with pytest.raises(UserNotFound) as info:
        resolve_user("no-such-user")
    assert str(info.value) == (
        "No user matches --user 'no-such-user' (tried primary key and email)."
    )
    assert resolve_user("ADA@example.com") == member  # the email, case-insensitively
