"""One model per relation kind an N+1 can loop through, for the hint tests."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Publisher(models.Model):
    name = models.CharField(max_length=100)


class Label(models.Model):
    """A tag attached to any object, through a generic foreign key (django-taggit style)."""

    name = models.CharField(max_length=100)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveIntegerField()
    content_object = GenericForeignKey("content_type", "object_id")


class Writer(models.Model):
    name = models.CharField(max_length=100)
    publisher = models.ForeignKey(Publisher, on_delete=models.CASCADE, related_name="writers")
    labels = GenericRelation(Label)  # a second owner of labels


class WriterProfile(models.Model):
    writer = models.OneToOneField(Writer, on_delete=models.CASCADE, related_name="profile")
    bio = models.CharField(max_length=200)


class Genre(models.Model):
    name = models.CharField(max_length=100)


class Novel(models.Model):
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    writer = models.ForeignKey(Writer, on_delete=models.CASCADE, related_name="novels")
    # Two relations to Writer: the hint must name the one the code used.
    editor = models.ForeignKey(Writer, on_delete=models.CASCADE, related_name="edited", null=True)
    genres = models.ManyToManyField(Genre, related_name="novels")
    shortlisted = models.ManyToManyField(Genre, related_name="shortlist")  # the same model again
    labels = GenericRelation(Label)

    class Meta:
        ordering = ["id"]


class Price(models.Model):
    novel = models.ForeignKey(Novel, on_delete=models.CASCADE, related_name="prices")
    amount = models.IntegerField()
    currency = models.CharField(max_length=3)
