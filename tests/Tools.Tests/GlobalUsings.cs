// Usings shared by every test file of Bulkhead.Tools.Tests.
global using Xunit;
