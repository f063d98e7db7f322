from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models


class MemberManager(BaseUserManager["Member"]):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> Member:
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> Member:
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class Member(AbstractBaseUser, PermissionsMixin):
    """A custom user whose USERNAME_FIELD is the email address."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)

    objects = MemberManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"


class Author(models.Model):
    name = models.CharField(max_length=100)


class Book(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")

    class Meta:
        ordering = ["id"]


class AuditEntry(models.Model):
    """Lives in the second database alias, to prove every alias is rolled back."""

    action = models.CharField(max_length=100)


class Account(models.Model):
    """Credentials in columns of their own, for the SQL redaction tests."""

    username = models.CharField(max_length=100, unique=True)
    password = models.CharField(max_length=128)
    api_token = models.CharField(max_length=100, blank=True)
    otp_secret = models.CharField(max_length=100, blank=True)
    note = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True)
